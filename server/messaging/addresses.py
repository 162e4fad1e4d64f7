"""A citizen's address for messages: a phone number (normalised to E.164 with `phonenumbers`, Vietnam when no
country code is given: "0912 345 678" → "+84912345678") or an e-mail address."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from server.domain.errors import N_, DomainError

_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")


class BadAddress(DomainError):
    code, status, message = (
        "bad_address",
        400,
        N_("This is neither a phone number nor an e-mail address we can send to."),
    )


@dataclass(frozen=True)
class Address:
    """`kind` "phone" (value E.164, e.g. +84912345678) or "email" (value as given, domain lower-cased)."""

    kind: str
    value: str


def parse_address(raw: str, region: str = "VN") -> Address:
    """The address in its stored form; BadAddress (400) when it is neither a valid phone number nor an e-mail."""
    text = (raw or "").strip()
    if "@" in text:
        if len(text) > 254 or not _EMAIL.match(text):
            raise BadAddress()
        local, domain = text.rsplit("@", 1)
        return Address("email", f"{local}@{domain.lower()}")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise BadAddress() from exc
    if not phonenumbers.is_valid_number(number):
        raise BadAddress()
    return Address("phone", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def masked(address: str) -> str:
    """For staff pages: "+84912345678" → "+8491•••••78", "an@example.vn" → "a•@example.vn"."""
    if "@" in address:
        local, domain = address.rsplit("@", 1)
        return f"{local[:1]}•@{domain}"
    return address[:5] + "•" * max(len(address) - 7, 0) + address[-2:]
