"""The interface the rest of Lượt calls to message a citizen: `enqueue()` a message inside the caller's transaction
(the worker sends it later, never during a request) and `watch_ticket()` for "tell me when 3 are ahead / when I am
called".

Each message is queued at most once per `dedupe_key` (a UNIQUE column; the insert does nothing on a duplicate,
so two processes or a retried request queue it once). Texts: server/messaging/texts.py; channels per site:
server/messaging/config.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from server.clock import Clock, SystemClock
from server.domain.errors import N_, DomainError, UnknownTicket
from server.messaging.addresses import Address, BadAddress, parse_address
from server.messaging.channels import EMAILS, PHONES, Unreachable, channel_for
from server.messaging.config import ConfigProblem, messaging_config
from server.messaging.texts import MessageKind, MissingParams, render
from server.models import OutboxMessage, Site, Ticket, TicketWatch, table_of

__all__ = [
    "BadAddress",
    "MessageKind",
    "MissingParams",
    "UnknownSite",
    "Unreachable",
    "enqueue",
    "reachable",
    "watch_ticket",
]

#: The clock enqueue() stamps rows with; create_app sets the app's (a simulation clock in tests).
CLOCK: list[Clock] = [SystemClock()]


class UnknownSite(DomainError):
    code, status, message = "unknown_site", 404, N_("Unknown site.")


def _now() -> datetime:
    return CLOCK[0].now()


def enqueue(
    session: Session,
    *,
    site_id: int,
    kind: MessageKind,
    address: str,
    params: dict[str, str],
    dedupe_key: str,
    language: str = "vi",
    ticket_id: int | None = None,
    appointment_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Queues one message inside the caller's transaction (sent later by the worker, never in the request).

    address: an E.164 phone (+84…; a Vietnamese "0912…" is accepted and normalised) or an e-mail; the site's
    configured channels decide how (phone → Zalo ZNS if configured with a template for `kind`, else the SMS
    gateway; e-mail → SMTP). params: the strings the kind's text needs (texts.NEEDS; MissingParams otherwise).
    `now`: the use case's time (default: the app's clock). Returns False when `dedupe_key` was already queued
    (each message at most once). Raises BadAddress (400) for an address that is neither, Unreachable (422, its
    `params["what"]` channels.PHONES or EMAILS) when no configured channel can reach it, UnknownSite
    (404)."""
    site = session.get(Site, site_id)
    if site is None:
        raise UnknownSite()
    parsed = parse_address(address)
    try:
        config = messaging_config(site.settings)
    except ConfigProblem as exc:  # saved settings are checked; a hand-edited database is refused loudly
        raise Unreachable(what=PHONES if parsed.kind == "phone" else EMAILS) from exc
    channel = channel_for(config, parsed, kind)
    text = render(kind, params, language)
    now = now or _now()
    row = {
        "site_id": site_id,
        "kind": kind.value,
        "channel": channel.value,
        "address": parsed.value,
        "language": language,
        "params": {k: str(v) for k, v in params.items()},
        "text": text,
        "dedupe_key": dedupe_key[:160],
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "last_error": "",
        "provider_message_id": "",
        "ticket_id": ticket_id,
        "appointment_id": appointment_id,
    }
    insert = _insert(session, OutboxMessage)
    result = session.execute(insert.values(**row).on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return bool(getattr(result, "rowcount", 0) == 1)


def watch_ticket(
    session: Session,
    *,
    ticket_id: int,
    address: str,
    near_turn: bool,
    called: bool,
    language: str = "vi",
    now: datetime | None = None,
) -> None:
    """A citizen asks to be told when 3 are ahead (near_turn) and/or when called, inside the caller's transaction.

    One watch per ticket: asking again replaces the address and choices (what was already queued stays queued).
    Raises UnknownTicket (404), BadAddress (400), Unreachable (422) when the ticket's site has no channel for the
    address. The triggers (server/messaging/triggers.py) queue the
    messages from the line projection; dedupe keys f"{ticket_id}:near" and f"{ticket_id}:called"."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise UnknownTicket()
    site = session.get(Site, ticket.site_id)
    parsed = parse_address(address)
    config = messaging_config(site.settings if site else {})
    for kind, wanted in ((MessageKind.NEAR_TURN, near_turn), (MessageKind.CALLED, called)):
        if wanted:
            channel_for(config, parsed, kind)
    wish = {"address": parsed.value, "language": language, "near_turn": near_turn, "called": called}
    row = {**wish, "ticket_id": ticket_id, "site_id": ticket.site_id, "created_at": now or _now()}
    # One statement, insert or replace: two forms for one ticket at once (a double click, two tabs) each save
    # their wish, the later one last, where a read-then-insert fails the second on the unique ticket id.
    statement = _insert(session, TicketWatch).values(**row)
    session.execute(statement.on_conflict_do_update(index_elements=["ticket_id"], set_=wish))
    for loaded in list(session.identity_map.values()):  # a watch loaded earlier in this session shows the new wish
        if isinstance(loaded, TicketWatch) and loaded.ticket_id == ticket_id:
            session.expire(loaded)


def _insert(session: Session, model: type[OutboxMessage] | type[TicketWatch]) -> Any:
    """The dialect's INSERT (SQLite's or PostgreSQL's, both with ON CONFLICT) into `model`'s table."""
    table = table_of(model)
    dialect = session.get_bind().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def reachable(session: Session, site_id: int, kind: MessageKind) -> frozenset[str]:
    """The address kinds ("phone", "email") the site can send a `kind` message to with its channels now — for a
    page that offers a phone or e-mail field only when it can be used. Empty for an unknown site or bad settings."""
    site = session.get(Site, site_id)
    try:
        config = messaging_config(site.settings if site else None)
    except ConfigProblem:
        return frozenset()
    found = set()
    for probe in (Address("phone", "+84912345678"), Address("email", "x@example.vn")):
        try:
            channel_for(config, probe, kind)
        except Unreachable:
            continue
        found.add(probe.kind)
    return frozenset(found)
