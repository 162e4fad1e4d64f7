"""The text of the QR code on a Vietnamese chip ID card (CCCD / căn cước), as a scanner that types reads it.

The layout (the card's QR, also shown by VNeID), fields separated by ``|``::

    001099012345|123456789|Nguyễn Văn A|01011990|Nam|Số 1 Phố X, Hà Nội|15082021

ID number (12 digits) | old ID number (9 digits, CMND; may be empty) | full name | birth date (ddmmyyyy) |
sex (Nam / Nữ) | permanent address | issue date (ddmmyyyy). Cards issued from 2024 may carry fewer trailing
fields and later ones may append some (ignored); only the first (the number) is needed to find a booking,
the others are checked when present.
Pure: no database, no framework. Nothing here is stored: the number only becomes a keyed hash (person_key).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from server.domain.errors import N_, DomainError

# ASCII digits only: `\d` alone also takes other scripts' digits (e.g. "٠١٢"), which would pass as a number
# here and then hash to a person key no card ever gives.
_ID = re.compile(r"[0-9]{12}")
_OLD_ID = re.compile(r"[0-9]{9}")
_DATE = re.compile(r"[0-9]{8}")
MAX_LENGTH = 400  # a real card's text is ~120 characters
MAX_FIELDS = 10  # seven known fields; later cards may add a few, which are ignored


class InvalidCardText(DomainError):
    code, status, message = (
        "invalid_card_text",
        400,
        N_("The ID card's QR code could not be read. Please scan it again or type your booking code."),
    )


@dataclass(frozen=True)
class CardData:
    """What the card's QR says; `old_id`, `sex`, `address` may be "" and the dates None when absent."""

    id_number: str
    old_id: str
    name: str
    birth_date: date | None
    sex: str
    address: str
    issue_date: date | None


def _ddmmyyyy(text: str) -> date | None:
    if not text:
        return None
    if not _DATE.fullmatch(text):
        raise InvalidCardText()
    try:
        return date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError as exc:
        raise InvalidCardText() from exc


def looks_like_card(text: str) -> bool:
    """Whether scanned text is an ID card's QR rather than a booking code (it starts with 12 digits and a |)."""
    return bool(re.match(r"\s*[0-9]{12}\|", text or ""))


def parse_card_text(text: str) -> CardData:
    """The fields of a CCCD QR text. Raises InvalidCardText (400) when the number is not 12 digits, the old
    number is neither empty nor 9 digits, a date is not a real ddmmyyyy date, or the text is not the layout."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        raise InvalidCardText()
    parts = [unicodedata.normalize("NFC", part.strip()) for part in text.strip().split("|")]
    if len(parts) < 2 or len(parts) > MAX_FIELDS:
        raise InvalidCardText()
    parts += [""] * (7 - len(parts))
    id_number, old_id, name, birth, sex, address, issued = parts[:7]
    if not _ID.fullmatch(id_number) or (old_id and not _OLD_ID.fullmatch(old_id)):
        raise InvalidCardText()
    return CardData(id_number, old_id, name, _ddmmyyyy(birth), sex, address, _ddmmyyyy(issued))
