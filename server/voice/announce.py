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

__all__ = ["DEFAULT_TEMPLATE", "VoiceSettings", "announcement_text"]

DEFAULT_TEMPLATE = "Mời công dân có số thứ tự {so} đến quầy số {quay}"

_FIELDS = frozenset({"so", "quay"})
_DIGITS_RE = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class VoiceSettings:
    """How a site's announcements are worded.

    ``template`` has two placeholders: ``{so}`` (ticket number) and ``{quay}`` (counter).
    ``region``/``nham`` choose the number wording; ``digit_by_digit`` reads the ticket number
    digit by digit (the counter number is always read as a number).
    """

    template: str = DEFAULT_TEMPLATE
    region: str = "north"
    nham: bool = False
    digit_by_digit: bool = False

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, got {self.region!r}")
        fields = {name for _, name, _, _ in string.Formatter().parse(self.template) if name is not None}
        unknown = fields - _FIELDS
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {sorted(unknown)} in announcement template; use {{so}} and {{quay}}"
            )


def announcement_text(
    display_number: str,
    counter_number: int | str,
    settings: VoiceSettings | None = None,
) -> str:
    """The sentence to speak, in words only (NFC).

    >>> announcement_text("1023", 5)
    'Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số năm'
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
