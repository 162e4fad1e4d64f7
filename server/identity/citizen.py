"""A citizen as the online channels know them: a keyed hash of a phone or ID number, never the number.

Law 91/2025/QH15 (personal data protection, in force 1 Jan 2026) asks for the least data a feature needs:
per-person limits only need to recognise the same person again, so tickets and bookings store
`person_key` — an HMAC-SHA256 of the normalised identifier under the instance's secret key — and the
clear phone number only where a message may still be sent (the message outbox), until it is purged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum


class IdentityKind(StrEnum):
    """How a citizen was identified."""

    PHONE = "phone"  # a one-time code sent to the phone number
    OIDC = "oidc"  # an OpenID Connect provider (the province's or VNeID)
    CCCD = "cccd"  # the 12-digit number of the chip ID card (căn cước công dân), read at the kiosk


_DIGITS = re.compile(r"\D+")


@dataclass(frozen=True)
class Citizen:
    """An identified citizen.

    `person_key`: 64 hex characters (see `person_key`); `kind`: how they were identified; `phone`: the
    E.164 phone number when they gave one (for messages), else None; `name`: a display name from the
    provider or the ID card, else "" — never stored with a ticket or booking.
    """

    person_key: str
    kind: IdentityKind
    phone: str | None = None
    name: str = ""


def normalised_identifier(kind: IdentityKind, value: str) -> str:
    """The identifier a person key is made of: digits only for phone (E.164 without '+') and CCCD
    numbers, the provider's `iss|sub` as given for OIDC. Raises ValueError for an empty identifier."""
    text = value.strip()
    if kind in (IdentityKind.PHONE, IdentityKind.CCCD):
        text = _DIGITS.sub("", text)
    if not text:
        raise ValueError("empty identifier")
    return text


def person_key(secret: str | bytes, kind: IdentityKind, value: str) -> str:
    """HMAC-SHA256 (hex, 64 chars) of `kind:normalised value` under the instance secret `secret`.

    The same person gives the same key across kiosk, online numbers and bookings of one instance; the
    number cannot be read back from it without the secret. A CCCD number and the phone number of the
    same person give different keys (they are different identifiers). Raises ValueError (empty value).
    """
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"{kind.value}:{normalised_identifier(kind, value)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
