"""Announcement sentences: ticket and counter numbers spelled out in Vietnamese words.

The text is meant for a speech engine, so it never contains digits: espeak-ng misreads some
numbers (15 → "mười năm"), and a recorded voice pack only has clips for words.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from .numbers import REGIONS, digits_to_words, display_number_to_words, number_to_words

__all__ = ["DEFAULT_RECALL_TEMPLATE", "DEFAULT_TEMPLATE", "VoiceSettings", "announcement_text", "ordinal_words"]

DEFAULT_TEMPLATE = "Mời công dân có số thứ tự {so} đến quầy số {quay}"
# A recall is worded differently, so the hall hears that this citizen was called before ("lần thứ hai").
DEFAULT_RECALL_TEMPLATE = "Mời lần thứ {lan} công dân có số thứ tự {so} đến quầy số {quay}"

_FIELDS = frozenset({"so", "quay"})
_RECALL_FIELDS = frozenset({"so", "quay", "lan"})
_DIGITS_RE = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class VoiceSettings:
    """How a site's announcements are worded.

    ``template`` has two placeholders: ``{so}`` (ticket number) and ``{quay}`` (counter);
    ``recall_template`` (a second or later call of the same citizen) may also use ``{lan}``, the call's
    ordinal in words ("hai", "ba", "tư"…). ``region``/``nham`` choose the number wording; ``digit_by_digit``
    reads the ticket number digit by digit (the counter number is always read as a number).
    """

    template: str = DEFAULT_TEMPLATE
    region: str = "north"
    nham: bool = False
    digit_by_digit: bool = False
    recall_template: str = DEFAULT_RECALL_TEMPLATE

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, got {self.region!r}")
        for name, template, allowed in (
            ("announcement", self.template, _FIELDS),
            ("recall", self.recall_template, _RECALL_FIELDS),
        ):
            fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
            unknown = fields - allowed
            if unknown:
                raise ValueError(
                    f"unknown placeholder(s) {sorted(unknown)} in {name} template; use "
                    + ", ".join(f"{{{field}}}" for field in sorted(allowed))
                )


def ordinal_words(call_number: int, region: str = "north") -> str:
    """The word after "lần thứ": 2 → "hai", 4 → "tư" (not "bốn"), 11 → "mười một"."""
    if call_number == 4:
        return "tư"
    return number_to_words(call_number, region=region)


def announcement_text(
    display_number: str,
    counter_number: int | str,
    settings: VoiceSettings | None = None,
    call_number: int = 1,
) -> str:
    """The sentence to speak, in words only (NFC); `call_number` 2 or more (a recall) uses the recall template.

    >>> announcement_text("1023", 5)
    'Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số năm'
    >>> announcement_text("15", 2, call_number=2)
    'Mời lần thứ hai công dân có số thứ tự mười lăm đến quầy số hai'
    """
    settings = settings or VoiceSettings()
    so = display_number_to_words(
        str(display_number),
        region=settings.region,
        nham=settings.nham,
        digit_by_digit=settings.digit_by_digit,
    )
    if isinstance(counter_number, int) and not isinstance(counter_number, bool):
        quay = number_to_words(counter_number, region=settings.region, nham=settings.nham)
    else:
        quay = display_number_to_words(str(counter_number), region=settings.region, nham=settings.nham)
    if call_number > 1:
        text = settings.recall_template.format(so=so, quay=quay, lan=ordinal_words(call_number, settings.region))
    else:
        text = settings.template.format(so=so, quay=quay)
    # Digits written into the template itself (e.g. "tầng 2") are spoken as words too.
    text = _DIGITS_RE.sub(
        lambda m: (
            number_to_words(int(m.group()), region=settings.region, nham=settings.nham)
            if len(m.group()) <= 9
            else digits_to_words(m.group())
        ),
        text,
    )
    return unicodedata.normalize("NFC", " ".join(text.split()))
