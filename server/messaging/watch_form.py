"""The tracking page's "tell me" form: a citizen gives a phone number (or an e-mail where the site sends e-mail),
ticks the consent shown above it (Law 91/2025: the purpose and how long the number is kept are said before it is
taken) and chooses "3 ahead" and/or "called". Stored only in `ticketwatch.address` and, once a message is queued,
`outboxmessage.address`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.domain.errors import N_, DomainError
from server.domain.vocabulary import OPEN_STATUSES
from server.messaging.config import ConfigProblem, messaging_config
from server.messaging.outbox import watch_ticket
from server.models import Site, Ticket

CONSENT = N_(
    "Your number is used only to send you these messages about this ticket, by the centre's Zalo, SMS or e-mail "
    "service, and is deleted when the day's data is purged. Tick to agree."
)


class NoConsent(DomainError):
    code, status, message = "consent_required", 400, N_("Please tick the box to agree before we take your number.")


class NothingChosen(DomainError):
    code, status, message = "nothing_chosen", 400, N_("Choose at least one message.")


class TicketNotWaiting(DomainError):
    code, status, message = "ticket_not_waiting", 409, N_("This ticket is no longer waiting.")


@dataclass(frozen=True)
class Offer:
    """What the tracking page offers: nothing (`phone` and `email` False) when the site has no channel."""

    phone: bool
    email: bool

    @property
    def offered(self) -> bool:
        return self.phone or self.email


def offer(site: Site | None, ticket: Ticket | None) -> Offer:
    if site is None or ticket is None or ticket.status not in OPEN_STATUSES:
        return Offer(False, False)
    try:
        config = messaging_config(site.settings)
    except ConfigProblem:
        return Offer(False, False)
    return Offer(config.zalo is not None or config.sms is not None, config.email is not None)


def ask_to_be_told(ctx: Any, tracking_token: str, form: Mapping[str, str], language: str) -> Ticket:
    """Saves the watch (server/messaging/outbox.py watch_ticket) and lets the triggers look at the line at once.
    Raises NoConsent, NothingChosen (400), TicketNotWaiting (409), BadAddress (400), Unreachable (422)."""
    from sqlmodel import select

    if form.get("consent") != "1":
        raise NoConsent()
    near, called = form.get("near_turn") == "1", form.get("called") == "1"
    if not (near or called):
        raise NothingChosen()
    with ctx.db.write() as session:
        ticket = session.exec(select(Ticket).where(Ticket.tracking_token == tracking_token[:64])).first()
        if ticket is None or ticket.status not in OPEN_STATUSES:
            raise TicketNotWaiting()
        watch_ticket(
            session,
            ticket_id=ticket.id or 0,
            address=str(form.get("address", ""))[:254],
            near_turn=near,
            called=called,
            language=language,
            now=ctx.clock.now(),
        )
        session.commit()
        session.expunge(ticket)
    if ctx.message_triggers is not None:
        ctx.message_triggers.watch_added(ticket.site_id)
    ctx.hub.figures.changed(ticket.site_id, set(), local=False)  # the triggers run off this request
    return ticket
