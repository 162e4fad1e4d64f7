"""Messages about a booking (confirmed, changed, cancelled) to the phone or e-mail the citizen gave, through the
message outbox of server/messaging; sending never blocks the request (the outbox's worker sends).

The message is queued in the booking's own write transaction (`enqueue` inserts into the caller's transaction):
the booking and its message commit together or not at all, so a crash after the commit cannot lose the message,
and a refused booking (slot full, limits …) queues nothing. Each is queued at most once (the dedupe key names
the booking, the kind and the slot, or for a change its number), and a repeated request (Idempotency-Key) queues
nothing. `book_and_tell` and `change_and_tell` are the use cases the routes run (`luot().run`): the domain's
`book` / `move` / `cancel`, then the message, in one transaction.

Who is texted, and how often: a booking's messages go to its `contact`. A citizen booking from their phone has
only the phone they proved (the one-time code, or the phone the identity platform vouches for) as contact: the
route refuses another (400 `contact_not_verified`), so Lượt never texts a number nobody has shown to be theirs
on a citizen's word. Staff booking for a caller type the caller's number (they are signed in and answer for it).
One booking sends at most: its confirmation, `MAX_CHANGE_NOTICES` change notices (its link moves it at most
`MAX_LINK_MOVES` times; the staff's moves after those are not texted beyond the cap) and its cancellation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from booking.views import booking_json
from server.domain import booking as use
from server.domain.booking_rules import MAX_CHANGE_NOTICES
from server.domain.errors import DomainError
from server.messaging.addresses import parse_address
from server.messaging.outbox import MessageKind, enqueue
from server.models import Appointment

log = logging.getLogger(__name__)

KINDS = {
    "confirmed": MessageKind.BOOKING_CONFIRMED,
    "changed": MessageKind.BOOKING_CHANGED,
    "cancelled": MessageKind.BOOKING_CANCELLED,
}


def queue_message(session: Session, now: datetime, kind: str, appointment: Appointment, link: str) -> bool:
    """Queues the `kind` message (confirmed | changed | cancelled) of a booking in the caller's transaction when
    the booking has a contact; returns whether one was queued. `link`: the confirmation link (or the site's
    booking page). A contact no channel of the site reaches is logged and the booking stands (enqueue refuses
    before it writes anything); any other failure raises, and the caller's transaction (the booking) with it."""
    if not appointment.contact:
        return False
    if kind == "changed" and appointment.moves > MAX_CHANGE_NOTICES:
        log.info("booking %s was moved %s times: no more change messages", appointment.code, appointment.moves)
        return False
    booking = booking_json(session, appointment, now)
    day = "/".join(reversed(booking["date"].split("-")))
    params = {"code": booking["code"], "slot": f"{booking['time']} {day}", "service": booking["service"]["name"]}
    if kind != "cancelled":
        params["link"] = link
    try:
        return enqueue(
            session,
            site_id=appointment.site_id,
            kind=KINDS[kind],
            address=appointment.contact,
            params=params,
            dedupe_key=f"booking:{appointment.id}:{kind}:{_occasion(kind, appointment, booking['slot_at'])}",
            language=appointment.language,
            appointment_id=appointment.id,
            now=now,
        )
    except DomainError as exc:  # e.g. no channel of the site reaches this address: the booking stands
        log.info("the %s message of booking %s was not queued: %s", kind, appointment.code, exc.code)
        return False


def _occasion(kind: str, appointment: Appointment, slot_at: str) -> str:
    """What makes a message one of its own: the slot of a confirmation or cancellation (each happens once), the
    move's number of a change (moved back to an earlier slot, the booking is still told)."""
    return f"move-{appointment.moves}" if kind == "changed" else slot_at


def book_and_tell(
    session: Session, now: datetime, *, page: str, contact: str | None = None, **kwargs: Any
) -> use.BookingOutcome:
    """`server.domain.booking.book` and its confirmation message in one transaction. `page`: the site's booking
    page URL (the link is `page`/m/<secret>); `contact` is stored normalised (E.164 phone or e-mail: what the
    admin's personal-data search compares). Raises what `book` raises and BadAddress (400) for a contact that is
    neither a phone nor an e-mail address."""
    normalised = parse_address(contact).value if contact and contact.strip() else None
    outcome = use.book(session, now, contact=normalised, **kwargs)
    assert outcome.appointment is not None
    if outcome.created:
        queue_message(session, now, "confirmed", outcome.appointment, f"{page}/m/{outcome.secret}")
    return outcome


def change_and_tell(
    session: Session, now: datetime, *, change: Callable[..., use.BookingOutcome], kind: str, link: str, **kwargs: Any
) -> use.BookingOutcome:
    """`change` (`server.domain.booking.move` or `cancel`) and, when it changed something, its `kind` message
    (changed | cancelled) in one transaction."""
    outcome = change(session, now, **kwargs)
    if outcome.created and outcome.appointment is not None:
        queue_message(session, now, kind, outcome.appointment, link)
    return outcome
