"""Messages about a booking (confirmed, changed, cancelled) to the phone or e-mail the citizen gave, through the
message outbox of server/messaging (issue 18, part "messages"); sending never blocks the request."""

from __future__ import annotations

import logging
from typing import Any

from server.context import luot
from server.models import Appointment

log = logging.getLogger(__name__)


def tell(kind: str, appointment: Appointment, booking: dict[str, Any], link: str) -> bool:
    """Queues the `kind` message (confirmed | changed | cancelled) of a booking when it has a contact; returns
    whether one was queued. A failure to queue is logged: the booking itself stands."""
    if not appointment.contact:
        return False
    try:
        from server.messaging.outbox import MessageKind, enqueue
    except ImportError:  # the outbox is not part of this build yet
        log.info("no message outbox: the %s message of booking %s is not sent", kind, appointment.code)
        return False
    kinds = {
        "confirmed": MessageKind.BOOKING_CONFIRMED,
        "changed": MessageKind.BOOKING_CHANGED,
        "cancelled": MessageKind.BOOKING_CANCELLED,
    }
    params = {
        "code": booking["code"],
        "date": booking["date"],
        "time": booking["time"],
        "service": booking["service"]["name"],
        "site": booking["site"]["name"],
        "link": link,
    }
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
            )
    except Exception:  # the booking is committed; the message is what failed
        log.exception("the %s message of booking %s could not be queued", kind, appointment.code)
        return False
