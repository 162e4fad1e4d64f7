"""Messages about a booking (confirmed, changed, cancelled) to the phone or e-mail the citizen gave, through the
message outbox of server/messaging; sending never blocks the request (the outbox's worker sends).

The message is queued in its own transaction just after the booking's commit: a crash between the two loses
that one message (the booking stands, and its confirmation page shows everything the message would say).
Each is queued at most once (the dedupe key names the booking, the kind and the slot)."""

from __future__ import annotations

import logging
from typing import Any

from server.context import luot
from server.domain.errors import DomainError
from server.models import Appointment

log = logging.getLogger(__name__)


def tell(kind: str, appointment: Appointment, booking: dict[str, Any], link: str) -> bool:
    """Queues the `kind` message (confirmed | changed | cancelled) of a booking when it has a contact; returns
    whether one was queued. A failure to queue is logged: the booking itself stands."""
    if not appointment.contact:
        return False
    from server.messaging.outbox import MessageKind, enqueue

    kinds = {
        "confirmed": MessageKind.BOOKING_CONFIRMED,
        "changed": MessageKind.BOOKING_CHANGED,
        "cancelled": MessageKind.BOOKING_CANCELLED,
    }
    day = "/".join(reversed(booking["date"].split("-")))
    params = {
        "code": booking["code"],
        "slot": f"{booking['time']} {day}",
        "service": booking["service"]["name"],
        "link": link or f"{luot().settings.base_url}/book/{booking['site']['code']}",
    }
    if kind == "cancelled":
        params.pop("link")
    try:
        with luot().db.write() as session:
            return enqueue(
                session,
                site_id=appointment.site_id,
                kind=kinds[kind],
                address=appointment.contact,
                params=params,
                dedupe_key=f"booking:{appointment.id}:{kind}:{booking['slot_at']}",
                language=appointment.language,
                appointment_id=appointment.id,
                now=luot().clock.now(),
            )
    except DomainError as exc:  # e.g. no channel of the site reaches this address: the booking stands
        log.info("the %s message of booking %s was not queued: %s", kind, appointment.code, exc.code)
        return False
    except Exception:  # the booking is committed; the message is what failed
        log.exception("the %s message of booking %s could not be queued", kind, appointment.code)
        return False
