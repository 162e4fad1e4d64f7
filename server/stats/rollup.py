"""Daily roll-ups: a finished local day of a site, summed from the event log into stats_detail/stats_hourly.

Rolling a day up again replaces its rows (idempotent). Today is never rolled up: its figures are always
computed live from the log. `luot stats rollup` (run nightly, e.g. from cron) rolls up finished days; the
history pages also roll up the few missing days they need before answering.

A roll-up and the day close (server.domain.day_close) agree whichever runs first: `rollup_day` closes its day
before reading it, and `close_past_days_rolled` (what `luot serve` and `luot day-close` run) rolls up again,
in the same transaction, every day it changed that had a roll-up already.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from server.clock import local_date
from server.domain.day_close import DayClose, close_day, close_past_days
from server.models import Site, table_of
from server.stats.compute import INDEX, KEY_FIELDS, Key, Tally, day_window, service_infos, tally_window
from server.stats.models import MEASURES, StatsDetail, StatsHourly, StatsRolledDay
from server.stats.waits import encode

if TYPE_CHECKING:
    from server.db import Database

COARSE_FIELDS = KEY_FIELDS[:5]


def _combine(target: list[int], row: list[int]) -> None:
    wait_max = INDEX["wait_max"]
    for index, value in enumerate(row):
        target[index] = max(target[index], value) if index == wait_max else target[index] + value


def coarse_rows(rows: dict[Key, list[int]]) -> dict[tuple, list[int]]:
    coarse: dict[tuple, list[int]] = {}
    for key, row in rows.items():
        short = key[:5]
        if short not in coarse:
            coarse[short] = [0] * len(MEASURES)
        _combine(coarse[short], row)
    return coarse


def coarse_samples(samples: dict[Key, list[int]]) -> dict[tuple, list[int]]:
    coarse: dict[tuple, list[int]] = {}
    for key, waits in samples.items():
        coarse.setdefault(key[:5], []).extend(waits)
    return coarse


def row_dicts(
    rows: dict[Any, list[int]], fields: tuple[str, ...], samples: dict[Any, list[int]] | None = None
) -> list[dict[str, Any]]:
    """Insertable rows: the key fields, the measures and the exact waits of the row (None without waits)."""
    samples = samples or {}
    return [
        {
            **dict(zip(fields, key, strict=True)),
            **dict(zip(MEASURES, row, strict=True)),
            "waits": encode(samples[key]) if samples.get(key) else None,
        }
        for key, row in rows.items()
    ]


def store_tally(session: Session, tally: Tally) -> None:
    """Inserts a tally's rows, with their exact waits, into both roll-up tables (the caller removed what they
    replace)."""
    detail = row_dicts(tally.rows, KEY_FIELDS, tally.samples)
    coarse = row_dicts(coarse_rows(tally.rows), COARSE_FIELDS, coarse_samples(tally.samples))
    for chunk_start in range(0, len(detail), 5000):
        session.connection().execute(insert(table_of(StatsDetail)), detail[chunk_start : chunk_start + 5000])
    for chunk_start in range(0, len(coarse), 5000):
        session.connection().execute(insert(table_of(StatsHourly)), coarse[chunk_start : chunk_start + 5000])


def rollup_day(session: Session, day: date, site_id: int, now: datetime) -> int:
    """Replaces the roll-up of one site's local day; returns the number of events it covered.

    A finished day is closed first (server.domain.day_close.close_day: its tickets still waiting or held are
    cancelled on that day), so no roll-up is made of a day before its close."""
    close_day(session, now, day, site_id)
    session.flush()  # the tally below reads with Core: the cancellations must be in the transaction first
    start, end = day_window(day)
    tally = Tally()
    events = tally_window(session, site_id, start, end, tally, service_infos(session, [site_id]))
    for table in (StatsDetail, StatsHourly):
        session.execute(delete(table).where(col(table.day) == day, col(table.site_id) == site_id))
    session.execute(
        delete(StatsRolledDay).where(col(StatsRolledDay.day) == day, col(StatsRolledDay.site_id) == site_id)
    )
    store_tally(session, tally)
    session.add(StatsRolledDay(day=day, site_id=site_id, rolled_at=now, events=events))
    session.flush()
    return events


def rolled_days(session: Session, site_days: Iterable[tuple[date, int]]) -> list[tuple[date, int]]:
    """The (day, site) pairs among `site_days` that have a roll-up, in order."""
    wanted = set(site_days)
    if not wanted:
        return []
    found = session.exec(
        select(col(StatsRolledDay.day), col(StatsRolledDay.site_id)).where(
            col(StatsRolledDay.day).in_({day for day, _site in wanted}),
            col(StatsRolledDay.site_id).in_({site for _day, site in wanted}),
        )
    ).all()
    return sorted(pair for pair in found if pair in wanted)


def close_past_days_rolled(session: Session, now: datetime, limit: int = 5000) -> DayClose:
    """The day close (server.domain.day_close.close_past_days, up to `limit` tickets), then a new roll-up of
    each (day, site) it changed that had one: a roll-up made before the close counts its cancellations."""
    result = close_past_days(session, now, limit)
    session.flush()
    for day, site_id in rolled_days(session, result.site_days):
        rollup_day(session, day, site_id, now)
    return result


def days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def missing_days(session: Session, site_ids: list[int], first: date, last: date) -> list[tuple[date, int]]:
    """(day, site) pairs in the range that have no roll-up yet."""
    if last < first or not site_ids:
        return []
    done = set(
        session.exec(
            select(col(StatsRolledDay.day), col(StatsRolledDay.site_id)).where(
                StatsRolledDay.day >= first, StatsRolledDay.day <= last, col(StatsRolledDay.site_id).in_(site_ids)
            )
        ).all()
    )
    return [(day, site) for day in days(first, last) for site in site_ids if (day, site) not in done]


def all_site_ids(session: Session) -> list[int]:
    return [site_id for site_id in session.exec(select(Site.id).order_by(col(Site.id))).all() if site_id is not None]


def missing_finished_days(
    session: Session, site_ids: list[int], first: date, last: date, now: datetime
) -> list[tuple[date, int]]:
    """(day, site) pairs of the range's finished days (never today: it is always live) that have no roll-up,
    oldest first."""
    return missing_days(session, site_ids, first, min(last, local_date(now) - timedelta(days=1)))


def roll_missing(
    session: Session, site_ids: list[int], first: date, last: date, now: datetime, limit: int | None = None
) -> int:
    """Rolls up the finished days of the range that have none yet (never today), at most `limit` of them
    (oldest first; None: all), in `session`'s transaction; returns how many."""
    missing = missing_finished_days(session, site_ids, first, last, now)
    for day, site_id in missing[:limit]:
        rollup_day(session, day, site_id, now)
    return len(missing[:limit])


def roll_missing_each(
    db: Database, site_ids: list[int], first: date, last: date, now: datetime, limit: int | None = None
) -> int:
    """`roll_missing` for a request: at most `limit` site-days, each in its own short write transaction (as
    `luot stats rollup`), so the counters and kiosks are served between them. Returns how many finished
    site-days of the range are still without a roll-up: `server.stats.queries.history` says so
    (History.missing) or counts them from the log."""
    with db.read() as session:
        missing = missing_finished_days(session, site_ids, first, last, now)
    for day, site_id in missing[:limit]:
        with db.write() as session:
            rollup_day(session, day, site_id, now)
    return len(missing[limit:]) if limit is not None else 0
