"""Vietnamese mobile numbers: the one form (E.164) a phone is kept and hashed in, and its masked display.

Normalised with `phonenumbers` (Google's libphonenumber metadata) in the VN region: "0912 345 678",
"84912345678" and "+84 912 345 678" are the same number, +84912345678. Only numbers that can receive a
text message (mobile, or numbers the metadata cannot tell from mobile) are accepted: a code cannot be
sent to a landline.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from server.identity.errors import InvalidPhone

_MOBILE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
_MASK = "•"


def normalise_phone(raw: object) -> str:
    """The E.164 form of a Vietnamese mobile number ("+84912345678"). Raises InvalidPhone (400) for anything else:
    not text, longer than 32 characters, not a number, another country's number, a landline."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 32:
        raise InvalidPhone()
    try:
        number = phonenumbers.parse(raw, "VN")
    except NumberParseException:
        raise InvalidPhone() from None
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != "VN"
        or phonenumbers.number_type(number) not in _MOBILE
    ):
        raise InvalidPhone()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """ "+84912345678" → "+84 9•• ••• 678": the country code, the first and the last three digits of the national
    number, the rest hidden, in groups of three (what a citizen recognises as theirs; nobody else learns it)."""
    number = phonenumbers.parse(e164, None)
    national = str(number.national_number)
    shown = national[:1] + _MASK * max(len(national) - 4, 0) + national[-3:]
    groups = [shown[i : i + 3] for i in range(0, len(shown), 3)]
    return f"+{number.country_code} " + " ".join(groups)
