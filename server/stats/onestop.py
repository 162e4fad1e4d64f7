"""The one-stop export: per ticket, where and by whom it was served, its dossier codes (mã hồ sơ), its times
and the citizen's rating — for a province's one-stop software (`luot export onestop`,
`GET /api/v1/exports/onestop`). The fields are documented one by one in the README ("One-stop export").

Tickets are those of the local service days `first`…`last`. Only a citizen's rating (tablet or phone) is
given; an old `staff` rating is left out. CSV cells that a spreadsheet would read as a formula are
neutralised (`server.stats.exports.inert`); JSON carries the values as they are.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from server.clock import LOCAL_TZ
from server.domain.day_close import effective_status
from server.domain.vocabulary import CITIZEN_SOURCES
from server.models import Agency, Counter, Rating, Service, Site, Ticket, TicketDossier, User
from server.stats.exports import inert

#: (field, meaning) in the order of the CSV columns and the JSON keys; the README repeats this table.
FIELDS: tuple[tuple[str, str], ...] = (
    ("ticket_id", "Lượt's ticket id (unique in this server)"),
    ("service_date", "local day of the ticket, YYYY-MM-DD (Asia/Ho_Chi_Minh)"),
    ("ticket_number", "the number printed on the ticket, e.g. 1023 or A015"),
    ("status", "done, no_show, cancelled, waiting, called, serving, held"),
    ("site_code", "site code"),
    ("site_name", "site name"),
    ("agency_code", "agency code"),
    ("agency_name", "agency name (Vietnamese)"),
    ("service_code", "service code (after a transfer: the service that finished it)"),
    ("service_name", "service name (Vietnamese)"),
    ("counter_number", "number of the counter that served it last; empty if uncalled since its issue or last transfer"),
    ("clerk_username", "username of the clerk who served it last (the one who finished it; empty as counter_number)"),
    ("clerk_name", "full name of that clerk"),
    ("dossier_codes", "dossier codes (mã hồ sơ) in the order attached; CSV: separated by ';', JSON: a list"),
    ("issued_at", "issue time, ISO 8601 with +07:00"),
    ("called_at", "first call time, ISO 8601 with +07:00; empty if never called"),
    ("started_at", "start of the last service (the last call if Start was not pressed); empty as counter_number"),
    ("finished_at", "finish time; empty unless finished"),
    ("wait_minutes", "first call − issue, minutes with one decimal"),
    ("service_minutes", "finish − started_at, minutes with one decimal"),
    ("rating", "very_satisfied, satisfied, neutral or unsatisfied; empty if the citizen did not rate"),
    ("rating_reasons", "reasons the citizen chose; CSV: separated by ';', JSON: a list"),
    ("rating_source", "tablet (the counter's rating tablet) or phone (the ticket's tracking page)"),
    ("rated_at", "rating time, ISO 8601 with +07:00"),
)
FIELD_NAMES = tuple(name for name, _meaning in FIELDS)


def _local(instant: datetime | None) -> str:
    return instant.astimezone(LOCAL_TZ).isoformat(timespec="seconds") if instant else ""


def _minutes(end: datetime | None, begin: datetime | None) -> float | None:
    if end is None or begin is None:
        return None
    return round((end - begin).total_seconds() / 60, 1)


def onestop_rows(
    session: Session, first: date, last: date, site_ids: Iterable[int], today: date
) -> list[dict[str, Any]]:
    """One dict per ticket of the days `first`…`last` on `site_ids` (keys FIELD_NAMES), by site, day, id.

    `today` (the local day now) gives a past day's ticket still open its status as every reader says it
    (`day_close.effective_status`: cancelled), whether or not the day close has run yet. The dossier codes and
    ratings are read with the tickets' own filter (a join), not a list of their ids: a year of a province is
    millions of tickets, past any database's limit of bound parameters."""
    sites = list(site_ids)
    chosen = (col(Ticket.site_id).in_(sites), col(Ticket.service_date) >= first, col(Ticket.service_date) <= last)
    tickets = session.exec(
        select(Ticket).where(*chosen).order_by(col(Ticket.site_id), col(Ticket.service_date), col(Ticket.id))
    ).all()
    codes: dict[int, list[str]] = defaultdict(list)
    for ticket_id, code in session.exec(
        select(TicketDossier.ticket_id, TicketDossier.code)
        .join(Ticket, col(Ticket.id) == col(TicketDossier.ticket_id))
        .where(*chosen)
        .order_by(col(TicketDossier.id))
    ).all():
        codes[ticket_id].append(code)
    ratings = {
        r.ticket_id: r
        for r in session.exec(
            select(Rating)
            .join(Ticket, col(Ticket.id) == col(Rating.ticket_id))
            .where(*chosen, col(Rating.source).in_(CITIZEN_SOURCES))
        ).all()
    }
    names = _names(session, sites)
    return [_row(t, names, codes.get(t.id or 0, []), ratings.get(t.id or 0), today) for t in tickets]


def _names(session: Session, site_ids: list[int]) -> dict[str, dict[int | None, Any]]:
    return {
        "site": {s.id: s for s in session.exec(select(Site).where(col(Site.id).in_(site_ids)))},
        "agency": {a.id: a for a in session.exec(select(Agency).where(col(Agency.site_id).in_(site_ids)))},
        "service": {s.id: s for s in session.exec(select(Service).where(col(Service.site_id).in_(site_ids)))},
        "counter": {c.id: c for c in session.exec(select(Counter).where(col(Counter.site_id).in_(site_ids)))},
        "clerk": {u.id: u for u in session.exec(select(User))},
    }


def _row(
    ticket: Ticket, names: dict[str, dict[int | None, Any]], codes: list[str], rating: Rating | None, today: date
) -> dict[str, Any]:
    site, agency, service = (
        names["site"][ticket.site_id],
        names["agency"][ticket.agency_id],
        names["service"][ticket.service_id],
    )
    counter = names["counter"].get(ticket.counter_id)
    clerk = names["clerk"].get(ticket.clerk_id)
    started = (ticket.started_at or ticket.called_at) if counter else None  # not called since a transfer: none
    return {
        "ticket_id": ticket.id,
        "service_date": ticket.service_date.isoformat(),
        "ticket_number": ticket.display_number,
        "status": effective_status(ticket.status, ticket.service_date, today),
        "site_code": site.code,
        "site_name": site.name,
        "agency_code": agency.code,
        "agency_name": agency.name,
        "service_code": service.code,
        "service_name": service.name,
        "counter_number": counter.number if counter else None,
        "clerk_username": clerk.username if clerk else "",
        "clerk_name": (clerk.full_name or "") if clerk else "",
        "dossier_codes": codes,
        "issued_at": _local(ticket.issued_at),
        "called_at": _local(ticket.first_called_at),
        "started_at": _local(started),
        "finished_at": _local(ticket.finished_at),
        "wait_minutes": _minutes(ticket.first_called_at, ticket.issued_at),
        "service_minutes": _minutes(ticket.finished_at, started) if ticket.finished_at else None,
        "rating": rating.score if rating else "",
        "rating_reasons": list(rating.reasons) if rating else [],
        "rating_source": rating.source if rating else "",
        "rated_at": _local(rating.at) if rating else "",
    }


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        value = ";".join(value)
    return "" if value is None else inert(value)


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark (Excel reads Vietnamese right), one header row of FIELD_NAMES, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELD_NAMES)
    for row in rows:
        writer.writerow([_cell(row[name]) for name in FIELD_NAMES])
    return out.getvalue().encode("utf-8-sig")


def to_json(rows: list[dict[str, Any]], first: date, last: date) -> bytes:
    """{"from", "to", "fields": FIELD_NAMES, "tickets": [row, …]}, UTF-8."""
    document = {"from": first.isoformat(), "to": last.isoformat(), "fields": list(FIELD_NAMES), "tickets": rows}
    return json.dumps(document, ensure_ascii=False, indent=1).encode()
