"""Vietnamese number words for spoken announcements.

Numbers are read the way a Vietnamese announcer reads them:

* ``mười`` for 10–19, ``mươi`` for 20 and up (``hai mươi``);
* ``mốt`` for a final 1 after ``mươi`` (21 = ``hai mươi mốt``, but 11 = ``mười một``);
* ``lăm`` for a final 5 after ``mười``/``mươi`` (15 = ``mười lăm``), or ``nhăm`` after ``mươi``
  with ``nham=True`` (25 = ``hai mươi nhăm``);
* ``tư`` for a final 4 after ``mươi`` (24 = ``hai mươi tư``; 14 = ``mười bốn``);
* ``linh`` (north) or ``lẻ`` (south) for a zero tens digit after hundreds (105 = ``một trăm linh năm``);
* ``nghìn`` (north) or ``ngàn`` (south) for thousands, ``triệu`` for millions;
* ``không trăm`` when a hundreds digit is zero inside a larger number
  (1005 = ``một nghìn không trăm linh năm``); groups that are entirely zero are skipped
  (2000 = ``hai nghìn``, 1000005 = ``một triệu không trăm linh năm``).

All strings are Unicode NFC.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "LETTER_NAMES",
    "MAX_NUMBER",
    "REGIONS",
    "digits_to_words",
    "display_number_to_words",
    "letter_name",
    "number_to_words",
]

MAX_NUMBER = 999_999_999
REGIONS = ("north", "south")

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

_ZERO_TENS = {"north": "linh", "south": "lẻ"}
_THOUSAND = {"north": "nghìn", "south": "ngàn"}

#: How each letter of a ticket prefix is spoken (Vietnamese letter names).
LETTER_NAMES: dict[str, str] = {
    "A": "a",
    "Ă": "á",
    "Â": "ớ",
    "B": "bê",
    "C": "xê",
    "D": "dê",
    "Đ": "đê",
    "E": "e",
    "Ê": "ê",
    "F": "ép",
    "G": "giê",
    "H": "hát",
    "I": "i",
    "J": "gi",
    "K": "ca",
    "L": "e-lờ",
    "M": "em-mờ",
    "N": "en-nờ",
    "O": "o",
    "Ô": "ô",
    "Ơ": "ơ",
    "P": "pê",
    "Q": "quy",
    "R": "e-rờ",
    "S": "ét-xì",
    "T": "tê",
    "U": "u",
    "Ư": "ư",
    "V": "vê",
    "W": "vê kép",
    "X": "ích-xì",
    "Y": "i dài",
    "Z": "dét",
}

_TOKEN_RE = re.compile(r"(\d+)|([^\W\d_]+)")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _check_region(region: str) -> None:
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")


def _group_words(n: int, *, full: bool, region: str, nham: bool) -> list[str]:
    """Words for a three-digit group 1..999.

    ``full`` means the group follows a higher group (thousands, millions), so a zero
    hundreds digit is still read (``không trăm``).
    """
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    has_hundreds = hundreds > 0 or full
    if has_hundreds:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if has_hundreds:
                words.append(_ZERO_TENS[region])
            words.append(DIGITS[units])
    elif tens == 1:
        words.append("mười")
        if units == 5:
            words.append("lăm")
        elif units:
            words.append(DIGITS[units])
    else:
        words += [DIGITS[tens], "mươi"]
        if units == 1:
            words.append("mốt")
        elif units == 4:
            words.append("tư")
        elif units == 5:
            words.append("nhăm" if nham else "lăm")
        elif units:
            words.append(DIGITS[units])
    return words


def digits_to_words(digits: str) -> str:
    """Read a string of ASCII digits one by one: ``"1023"`` → ``"một không hai ba"``."""
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"expected a non-empty string of digits, got {digits!r}")
    return " ".join(DIGITS[int(d)] for d in digits)


def number_to_words(
    n: int,
    *,
    region: str = "north",
    digit_by_digit: bool = False,
    nham: bool = False,
) -> str:
    """Vietnamese words for ``0 <= n <= 999_999_999``.

    ``region`` is ``"north"`` (linh, nghìn) or ``"south"`` (lẻ, ngàn); ``nham`` reads a final
    5 after ``mươi`` as ``nhăm``; ``digit_by_digit`` reads each digit (``một không hai ba``).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"expected an int, got {type(n).__name__}")
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"number out of range 0..{MAX_NUMBER}: {n}")
    _check_region(region)
    if digit_by_digit:
        return digits_to_words(str(n))
    if n == 0:
        return DIGITS[0]
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    words: list[str] = []
    for value, scale in ((millions, "triệu"), (thousands, _THOUSAND[region]), (units, None)):
        if value == 0:
            continue
        words += _group_words(value, full=bool(words), region=region, nham=nham)
        if scale:
            words.append(scale)
    return _nfc(" ".join(words))


def letter_name(letter: str) -> str:
    """Spoken Vietnamese name of one letter (``"B"`` → ``"bê"``); unknown letters are lower-cased."""
    letter = _nfc(letter)
    return LETTER_NAMES.get(letter.upper(), letter.lower())


def display_number_to_words(
    display: str,
    *,
    region: str = "north",
    digit_by_digit: bool = False,
    nham: bool = False,
) -> str:
    """Read a displayed ticket number such as ``"A1023"``, ``"B-015"`` or ``"1023"``.

    Letter runs are spoken letter by letter (Vietnamese letter names), digit runs as numbers
    (or digit by digit, keeping leading zeros); parts are separated by ``", "``:
    ``"A1023"`` → ``"a, một nghìn không trăm hai mươi ba"``. Other characters (``-``, spaces,
    ``/``) only separate parts.
    """
    _check_region(region)
    parts: list[str] = []
    for match in _TOKEN_RE.finditer(_nfc(display)):
        digits, letters = match.groups()
        if digits is not None:
            if not digits.isascii():
                raise ValueError(f"unsupported digits in display number {display!r}")
            if digit_by_digit:
                parts.append(digits_to_words(digits))
            else:
                parts.append(number_to_words(int(digits), region=region, nham=nham))
        else:
            parts.append(" ".join(letter_name(ch) for ch in letters))
    if not parts:
        raise ValueError(f"display number has no letters or digits: {display!r}")
    return _nfc(", ".join(parts))
