"""A citizen's address for messages: a Vietnamese mobile number (normalised to E.164 by the one phone rule of
server/identity/phone.py: "0912 345 678" → "+84912345678") or an e-mail address.

Landlines and other countries' numbers are refused like any bad address: a landline cannot receive a text, a
foreign number would let anyone holding a ticket send paid international texts through the centre's gateway,
and the admin's personal-data search (server/privacy/person.py) takes only Vietnamese mobiles, so data kept
under any other number could not be found or deleted on request."""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.domain.errors import N_, DomainError
from server.identity.errors import InvalidPhone
from server.identity.phone import normalise_phone

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


def parse_address(raw: str) -> Address:
    """The address in its stored form; BadAddress (400) when it is neither a Vietnamese mobile number nor an
    e-mail address."""
    text = (raw or "").strip()
    if "@" in text:
        if len(text) > 254 or not _EMAIL.match(text):
            raise BadAddress()
        local, domain = text.rsplit("@", 1)
        return Address("email", f"{local}@{domain.lower()}")
    try:
        return Address("phone", normalise_phone(text))
    except InvalidPhone:
        raise BadAddress() from None


def masked(address: str) -> str:
    """For staff pages: "+84912345678" → "+8491•••••78", "an@example.vn" → "a•@example.vn"."""
    if "@" in address:
        local, domain = address.rsplit("@", 1)
        return f"{local[:1]}•@{domain}"
    return address[:5] + "•" * max(len(address) - 7, 0) + address[-2:]
