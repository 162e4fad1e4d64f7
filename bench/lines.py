"""Lines made to measure: a bench site with 20 counters and clerks, and today's tickets written straight into
the SQLite file before the server starts (waiting ones, or finished ones with their event log), so a bench
can begin at 5,000 waiting or 30,000 served without issuing them one by one through HTTP.

The rows are what the use cases write (a ticket, its `issued`/`called`/`started`/`finished` events, the
sequence's `DailyNumber`), so the server builds its line and today's figures from them as from a real day.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

BENCH_AGENCY = "BENCH"
BENCH_SERVICE = "BENCH-1"
BENCH_PASSWORD = "bench-clerk-pass"
FIRST_COUNTER = 201  # the demo's counters are 1–43
CLERK_NAME = "bench{:02d}"


@dataclass(frozen=True)
class BenchSite:
    site_id: int
    service_ids: list[int]  # [BENCH-1] or the first service of each demo agency (spread)
    counter_ids: list[int]  # the bench counters, FIRST_COUNTER upwards
    clerks: list[str]


def _env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
    env["LUOT_INSTANCE_DIR"] = str(instance)
    return env


def add_bench_site(
    instance: Path, counters: int = 20, waiting: int = 0, finished: int = 0, spread: bool = False
) -> BenchSite:
    """Adds agency BENCH (numbers 1–99,999) with `counters` counters and clerks to the demo centre, then
    `finished` tickets served today and `waiting` tickets waiting now (over BENCH-1, or with `spread` over the
    first service of each of the demo's 20 agencies, one agency per bench counter)."""
    from sqlmodel import select

    from server.db import Database
    from server.models import Agency, Service, Site
    from server.provisioning import create_agency, create_counter, create_sequence, create_service, create_user
    from server.settings import load_settings

    db = Database(load_settings(environ=_env(instance)))
    try:
        with db.write() as session:
            site = session.exec(select(Site).where(Site.kind == "centre")).first()
            assert site is not None and site.id is not None
            agency = create_agency(session, site, BENCH_AGENCY, "Bàn đo hiệu năng", "Bench", sort_order=99)
            sequence = create_sequence(session, site, BENCH_AGENCY, "B", 1, 99_999)
            bench = create_service(
                session, agency, BENCH_SERVICE, "Dịch vụ đo", sequence=sequence, default_service_minutes=5
            )
            served = [bench]
            if spread:
                firsts = session.exec(
                    select(Service).join(Agency).where(Service.site_id == site.id, Agency.code != BENCH_AGENCY)
                ).all()
                by_agency: dict[int, Service] = {}
                for service in sorted(firsts, key=lambda s: (s.agency_id, s.sort_order)):
                    by_agency.setdefault(service.agency_id, service)
                served = list(by_agency.values())[:20]
            counter_ids, clerks = [], []
            for index in range(counters):
                # spread: one agency per counter, as in a real hall (a counter serving every agency would make the
                # whole site one pool of services, which no centre has)
                mine = [served[index % len(served)]] if spread else served
                counter = create_counter(session, site, FIRST_COUNTER + index, mine)
                counter_ids.append(counter.id or 0)
                name = CLERK_NAME.format(index + 1)
                create_user(session, name, BENCH_PASSWORD, "clerk", site, full_name=f"Bench {index + 1}")
                clerks.append(name)
            site_id = site.id
            service_ids = [s.id or 0 for s in served]
        engine = db.engine
        now = datetime.now(UTC)
        if finished:
            _write_tickets(engine, site_id, [bench.id or 0], finished, now, served=True, counter_id=counter_ids[0])
        if waiting:
            _write_tickets(engine, site_id, service_ids, waiting, now, served=False, counter_id=None)
    finally:
        db.dispose()
    return BenchSite(site_id, service_ids, counter_ids, clerks)


def _write_tickets(
    engine: sa.Engine,
    site_id: int,
    service_ids: list[int],
    count: int,
    now: datetime,
    *,
    served: bool,
    counter_id: int | None,
) -> None:
    """`count` tickets of today, round-robin over `service_ids`, numbered after what each sequence handed out."""
    from server.clock import local_date, local_midnight
    from server.domain.numbering import display_number
    from server.domain.vocabulary import EventKind, TicketStatus
    from server.models import DailyNumber, NumberSequence, Service, Ticket, TicketEvent

    today = local_date(now)
    with engine.begin() as connection:
        services = {
            row.id: row
            for row in connection.execute(sa.select(Service).where(Service.id.in_(service_ids)))  # type: ignore[attr-defined]
        }
        sequences = {row.id: row for row in connection.execute(sa.select(NumberSequence))}
        last = {
            row.sequence_id: row.last_value
            for row in connection.execute(sa.select(DailyNumber).where(DailyNumber.service_date == today))  # type: ignore[arg-type]
        }
        tickets, numbers = [], dict(last)
        start = max(now - timedelta(hours=2), local_midnight(today) + timedelta(minutes=1))
        for index in range(count):
            service = services[service_ids[index % len(service_ids)]]
            number = numbers.get(service.sequence_id, 0) + 1
            numbers[service.sequence_id] = number
            issued = start + timedelta(milliseconds=index)
            sequence = sequences[service.sequence_id]
            tickets.append(
                {
                    "site_id": site_id,
                    "service_id": service.id,
                    "agency_id": service.agency_id,
                    "origin_service_id": service.id,
                    "sequence_id": service.sequence_id,
                    "service_date": today,
                    "number": sequence.first_number + number - 1,
                    "display_number": display_number(sequence, sequence.first_number + number - 1),
                    "priority": "",
                    "channel": "kiosk",
                    "status": TicketStatus.DONE if served else TicketStatus.WAITING,
                    "issued_at": issued,
                    "queue_since": issued,
                    "first_called_at": issued + timedelta(minutes=3) if served else None,
                    "called_at": issued + timedelta(minutes=3) if served else None,
                    "started_at": issued + timedelta(minutes=3, seconds=20) if served else None,
                    "finished_at": issued + timedelta(minutes=8) if served else None,
                    "counter_id": counter_id if served else None,
                    "clerk_id": None,
                    "recall_count": 0,
                    "transfer_count": 0,
                    "hold_note": "",
                    "tracking_token": secrets.token_urlsafe(16),
                    "issuer_key": "",
                    "idempotency_key": None,
                }
            )
        connection.execute(sa.insert(Ticket), tickets)
        ids = connection.execute(
            sa.select(Ticket.id, Ticket.service_id, Ticket.agency_id, Ticket.issued_at).where(  # type: ignore[call-overload]
                Ticket.tracking_token.in_([t["tracking_token"] for t in tickets])
            )  # type: ignore[attr-defined]
        ).all()
        steps = [(EventKind.ISSUED, timedelta(0), {"channel": "kiosk", "priority": ""})]
        if served:
            steps += [
                (EventKind.CALLED, timedelta(minutes=3), {"wait_seconds": 180}),
                (EventKind.STARTED, timedelta(minutes=3, seconds=20), {}),
                (EventKind.FINISHED, timedelta(minutes=8), {}),
            ]
        events = [
            {
                "ticket_id": ticket_id,
                "site_id": site_id,
                "kind": kind,
                "at": issued.replace(tzinfo=UTC) + delay if issued.tzinfo is None else issued + delay,
                "service_id": service_id,
                "agency_id": agency_id,
                "counter_id": counter_id if kind != EventKind.ISSUED else None,
                "user_id": None,
                "data": data,
            }
            for ticket_id, service_id, agency_id, issued in ids
            for kind, delay, data in steps
        ]
        connection.execute(sa.insert(TicketEvent), events)
        for sequence_id, value in numbers.items():
            if sequence_id in last:
                connection.execute(
                    sa.update(DailyNumber)
                    .where(DailyNumber.sequence_id == sequence_id, DailyNumber.service_date == today)  # type: ignore[arg-type]
                    .values(last_value=value)
                )
            else:
                connection.execute(
                    sa.insert(DailyNumber).values(sequence_id=sequence_id, service_date=today, last_value=value)
                )
