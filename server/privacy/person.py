"""One citizen's data, found by phone or ID number and deleted at their request (Law 91/2025: the right to
access and to deletion).

The phone (normalised to E.164) and the ID number give person keys (server/identity/citizen.py); the data of
that person is: tickets carrying one of the keys; bookings carrying one of them as `person_key` or `card_key`
(the CCCD given to check in with the ID card) or whose `contact` (stored normalised, booking/notify.py) is the
phone or the e-mail address; one-time codes of the phone; messages and turn-alert wishes addressed to the phone
or the e-mail address (compared without regard to case) in clear or attached to those tickets and bookings.
Deleting empties those personal columns (`ticket.person_key`; `appointment.person_key`, `.card_key`,
`.contact`; a message's address, params and text) and deletes codes and wishes, as the purge does
(server/privacy/purge.py, booking/privacy.py); tickets and bookings stay, anonymous, so the day's numbering and
statistics stay true. A message still waiting to be sent is marked failed ("deleted") so it never goes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.identity.citizen import IdentityKind, normalised_identifier, person_key
from server.identity.phone import normalise_phone
from server.messaging.addresses import BadAddress, parse_address
from server.models import Appointment, OneTimeCode, OutboxMessage, Ticket, TicketWatch

DELETED = "deleted at the citizen's request"


@dataclass(frozen=True)
class Person:
    """Who is looked for: their person keys, their phone and e-mail address in clear (for messages; the e-mail
    lower-cased), within `site_id` (None: all)."""

    keys: tuple[str, ...]
    phone: str | None
    site_id: int | None = None
    email: str | None = None


@dataclass
class PersonData:
    """What is kept about a person: ids and the non-personal facts of each row (no number, no key)."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    watches: list[int] = field(default_factory=list)
    codes: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "tickets": len(self.tickets),
            "appointments": len(self.appointments),
            "messages": len(self.messages),
            "watches": len(self.watches),
            "codes": self.codes,
        }


def person_of(
    secret: str | bytes, *, phone: str | None, id_number: str | None, site_id: int | None, email: str | None = None
) -> Person:
    """The person given by a phone (any Vietnamese form), an ID number and/or an e-mail address (the tracking page
    takes one where the site sends e-mail). Raises InvalidPhone or BadAddress (400), or ValueError (no usable
    identifier)."""
    mail = None
    if email and email.strip():
        if "@" not in email:
            raise BadAddress()
        mail = parse_address(email).value.lower()
    keys: list[str] = []
    e164 = normalise_phone(phone) if phone else None
    if e164:
        keys.append(person_key(secret, IdentityKind.PHONE, e164))
    if id_number:
        digits = normalised_identifier(IdentityKind.CCCD, id_number)
        keys.append(person_key(secret, IdentityKind.CCCD, digits))
    if not keys and not mail:
        raise ValueError("a phone, an ID number or an e-mail address is needed")
    return Person(tuple(keys), e164, site_id, mail)


def _scoped(statement: Any, model: Any, person: Person) -> Any:
    return statement if person.site_id is None else statement.where(model.site_id == person.site_id)


def _appointment_is(person: Person) -> list[Any]:
    """The conditions of a booking of `person`: a key as person or card key, or the phone or e-mail as contact."""
    mine: list[Any] = [col(Appointment.person_key).in_(person.keys), col(Appointment.card_key).in_(person.keys)]
    if person.phone:
        mine.append(col(Appointment.contact) == person.phone)
    if person.email:
        mine.append(sa.func.lower(col(Appointment.contact)) == person.email)
    return mine


def find_person(session: Session, person: Person) -> PersonData:
    """Everything kept about `person` (see the module)."""
    data = PersonData()
    tickets = session.exec(_scoped(select(Ticket).where(col(Ticket.person_key).in_(person.keys)), Ticket, person))
    for t in tickets:
        data.tickets.append(
            {
                "id": t.id,
                "site_id": t.site_id,
                "day": t.service_date.isoformat(),
                "number": t.display_number,
                "channel": t.channel,
                "status": t.status,
            }
        )
    booked = select(Appointment).where(sa.or_(*_appointment_is(person)))
    for a in session.exec(_scoped(booked, Appointment, person)):
        data.appointments.append({"id": a.id, "site_id": a.site_id, "code": a.code, "slot_at": a.slot_at.isoformat()})
    ticket_ids = [t["id"] for t in data.tickets]
    appointment_ids = [a["id"] for a in data.appointments]
    mine: list[Any] = [
        col(OutboxMessage.ticket_id).in_(ticket_ids),
        col(OutboxMessage.appointment_id).in_(appointment_ids),
    ]
    if person.phone:
        mine.append(col(OutboxMessage.address) == person.phone)
    if person.email:
        mine.append(sa.func.lower(col(OutboxMessage.address)) == person.email)
    messages = session.exec(_scoped(select(OutboxMessage).where(sa.or_(*mine)), OutboxMessage, person))
    for m in messages:
        data.messages.append(
            {
                "id": m.id,
                "site_id": m.site_id,
                "kind": m.kind,
                "status": m.status,
                "created_at": m.created_at.isoformat(),
                "has_address": bool(m.address),
            }
        )
    watched: list[Any] = [col(TicketWatch.ticket_id).in_(ticket_ids)]
    if person.phone:
        watched.append(col(TicketWatch.address) == person.phone)
    if person.email:
        watched.append(sa.func.lower(col(TicketWatch.address)) == person.email)
    data.watches = [
        w.id for w in session.exec(_scoped(select(TicketWatch).where(sa.or_(*watched)), TicketWatch, person))
    ]
    codes = select(sa.func.count()).select_from(OneTimeCode).where(col(OneTimeCode.phone_key).in_(person.keys))
    data.codes = int(session.exec(_scoped(codes, OneTimeCode, person)).one())
    return data


def delete_person(session: Session, person: Person) -> dict[str, int]:
    """Removes `person`'s data in the caller's transaction; what was found, by kind (as `PersonData.counts`)."""
    found = find_person(session, person)
    ticket_ids = [t["id"] for t in found.tickets]
    appointment_ids = [a["id"] for a in found.appointments]
    message_ids = [m["id"] for m in found.messages]
    session.execute(sa.update(Ticket).where(col(Ticket.id).in_(ticket_ids)).values(person_key=None))
    session.execute(
        sa.update(Appointment)
        .where(col(Appointment.id).in_(appointment_ids))
        .values(person_key=None, card_key=None, contact=None)
    )
    session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(message_ids), col(OutboxMessage.status).in_(("queued", "sending")))
        .values(status="failed", last_error=DELETED)
    )
    session.execute(
        sa.update(OutboxMessage).where(col(OutboxMessage.id).in_(message_ids)).values(address="", params={}, text="")
    )
    session.execute(sa.delete(TicketWatch).where(col(TicketWatch.id).in_(found.watches)))
    session.execute(
        _scoped(sa.delete(OneTimeCode).where(col(OneTimeCode.phone_key).in_(person.keys)), OneTimeCode, person)
    )
    return found.counts()
