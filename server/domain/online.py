"""Online numbers for today (lấy số từ xa): a number taken from a phone, and its lapse at a time the site sets.

An online number is an ordinary ticket of today's line (`channel: online`): the same numbering, the same
standing as a kiosk number, the same tracking page; it is refused outside the service's opening hours and
beyond its daily cap exactly as at the kiosk (`server.domain.issuing`). A service gives them only when
`Service.online_numbers` is set. At the site's `online_lapse_time` (SiteRules, "HH:MM" local; empty: at
the end of the day, like every ticket) the online numbers still waiting or held that day are cancelled —
the `cancel` step of `server.domain.transitions`, logged as a `cancelled` event with reason `online_lapsed`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from server.clock import LOCAL_TZ, local_date
from server.domain import booking_errors as refused
from server.domain.hours import HoursError, parse_time
from server.domain.issuing import issue_ticket, service_by_code
from server.domain.outcome import Outcome
from server.domain.queries import site_rules
from server.domain.ticket_log import log_event
from server.domain.transitions import TRANSITIONS, Action
from server.domain.vocabulary import OPEN_STATUSES, Channel, EventKind
from server.models import Site, Ticket

_CANCEL = (
    update(Ticket)
    .where(col(Ticket.id) == bindparam("ticket_id"), col(Ticket.status).in_(TRANSITIONS[Action.CANCEL].sources))
    .values(status=TRANSITIONS[Action.CANCEL].target)
)


def take_online_number(
    session: Session,
    now: datetime,
    *,
    site_id: int,
    service_code: str,
    person_key: str,
    idempotency_key: str | None = None,
) -> Outcome:
    """Today's next number of a service for an identified citizen (`person_key`, held to the per-person limits
    in the same transaction). Raises what `issue_ticket` raises (ServiceClosed, DailyCapReached,
    PersonServiceLimitReached …) and NoOnlineNumbers (409) for a service that gives none."""
    service = service_by_code(session, site_id, service_code)
    if not service.online_numbers:
        raise refused.NoOnlineNumbers()
    outcome = issue_ticket(
        session,
        now,
        site_id=site_id,
        service_code=service_code,
        channel=Channel.ONLINE,
        issuer_key=f"citizen:{person_key[:40]}",
        idempotency_key=idempotency_key,
        person_key=person_key,
    )
    return outcome


def lapse_time(rules_time: str, day_of: datetime) -> datetime | None:
    """The instant online numbers of `day_of`'s local day lapse, or None (no lapse time set, or unreadable)."""
    if not rules_time:
        return None
    try:
        at = parse_time(rules_time)
    except HoursError:
        return None
    return datetime.combine(local_date(day_of), at, LOCAL_TZ)


def lapse_online_numbers(session: Session, now: datetime) -> set[int]:
    """Cancels today's online numbers still waiting or held once their site's lapse time has passed; returns
    the sites whose line changed."""
    changed: set[int] = set()
    for site_id in session.exec(select(Site.id)).all():
        if site_id is None:
            continue
        deadline = lapse_time(site_rules(session, site_id).online_lapse_time, now)
        if deadline is None or now < deadline:
            continue
        open_online = select(Ticket).where(
            Ticket.site_id == site_id,
            Ticket.service_date == local_date(now),
            Ticket.channel == Channel.ONLINE,
            col(Ticket.status).in_(OPEN_STATUSES),
        )
        for ticket in session.exec(open_online).all():
            previous = ticket.status
            if session.connection().execute(_CANCEL, {"ticket_id": ticket.id}).rowcount != 1:
                continue
            log_event(
                session, ticket, EventKind.CANCELLED, now, flush=False, reason="online_lapsed", previous_status=previous
            )
            changed.add(site_id)
    return changed
