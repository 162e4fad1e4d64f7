"""Housekeeping that runs inside `luot serve`: closing past service days (see server.domain.day_close) at local
midnight and every ten minutes after, and telling every screen that the lines of the new day are empty; and
purging the personal data of finished days once a day (server/privacy/purge.py)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from server.clock import local_date, local_midnight
from server.context import Luot
from server.domain.day_close import DayClose
from server.failure_log import FailureLog
from server.privacy.daily import purge_now
from server.stats.rollup import close_past_days_rolled

log = logging.getLogger(__name__)
DAY_CLOSE_EVERY_SECONDS = 600  # a day's leftovers are closed within ten minutes of local midnight
BOOKING_SWEEP_EVERY_SECONDS = 60  # bookings and online numbers lapse within a minute of their time


def close_past_days_now(ctx: Luot) -> DayClose:
    """Cancels what past days left open (`close_for_reading`), then lets every site's line start the new day
    (boards, kiosks and phones get their figures again)."""
    result = close_for_reading(ctx)
    ctx.lines.mark_stale(None)
    return result


def close_for_reading(ctx: Luot) -> DayClose:
    """Cancels what past days left open, rolling up again in the same transaction the days it changed that had
    a roll-up (server.stats.rollup.close_past_days_rolled), and tells the day-close watchers (metrics). What a
    reader of past days from the log runs first (the history downloads); the lines of today are not touched:
    no ticket of a past day is on them."""
    with ctx.db.write() as session:
        result = close_past_days_rolled(session, ctx.clock.now())
    for watcher in ctx.day_close_watchers:
        watcher(result)
    if result.total:
        log.info(
            "closed past days: %s tickets cancelled (%s)",
            result.total,
            ", ".join(f"{k} {v}" for k, v in sorted(result.cancelled.items())),
        )
    return result


def seconds_to_midnight(now: datetime) -> float:
    """Seconds until the next local midnight (Asia/Ho_Chi_Minh)."""
    return (local_midnight(local_date(now) + timedelta(days=1)) - now).total_seconds()


def _purge_once_a_day(ctx: Luot, purged_on: date | None, failures: FailureLog, every_seconds: float) -> date | None:
    """Purges personal data of finished days (server/privacy/purge.py) on the first round of each local day (and
    after a restart); the day it purged, or the old one when it failed (the next round tries again)."""
    today = local_date(ctx.clock.now())
    if purged_on == today:
        return purged_on
    try:
        purge_now(ctx)
    except Exception as exc:  # the database may be away for a while
        failures.failed(exc, f"retrying in {every_seconds:g} s")
        return purged_on
    failures.worked()
    return today


class DayCloseRounds:
    """The rounds of the day-close task: close past days, then purge personal data once each local day; an engine
    outage is logged (server/failure_log.py), not fatal."""

    def __init__(self, ctx: Luot, every_seconds: float = DAY_CLOSE_EVERY_SECONDS) -> None:
        self.ctx = ctx
        self.every_seconds = every_seconds
        self.purged_on: date | None = None
        self.close_failures = FailureLog(log, "closing past days")
        self.purge_failures = FailureLog(log, "purging personal data")

    def round(self) -> float:
        """One round; the seconds to wait before the next (local midnight or `every_seconds`, whichever first)."""
        try:
            close_past_days_now(self.ctx)
        except Exception as exc:  # the database may be away for a while; the next round tries again
            self.close_failures.failed(exc, f"retrying in {self.every_seconds:g} s")
        else:
            self.close_failures.worked()
        self.purged_on = _purge_once_a_day(self.ctx, self.purged_on, self.purge_failures, self.every_seconds)
        return max(min(self.every_seconds, seconds_to_midnight(self.ctx.clock.now()) + 1), 1)


def run_day_close_forever(ctx: Luot, socketio: Any, every_seconds: float = DAY_CLOSE_EVERY_SECONDS) -> None:
    """A background task: close past days now, at every local midnight, and every `every_seconds` in between
    (a safety net), and purge personal data once each local day (DayCloseRounds)."""
    rounds = DayCloseRounds(ctx, every_seconds)
    while True:
        socketio.sleep(rounds.round())


def sweep_bookings_now(ctx: Luot) -> tuple[int, set[int]]:
    """Bookings past their lapse time become lapsed; online numbers past their site's lapse time are cancelled
    (server.domain.booking, server.domain.online). Returns (bookings lapsed, sites whose line changed)."""
    from server.domain.booking import lapse_bookings
    from server.domain.online import lapse_online_numbers

    with ctx.db.write() as session:
        now = ctx.clock.now()
        lapsed = lapse_bookings(session, now)
        sites = lapse_online_numbers(session, now)
    for site_id in sites:
        ctx.lines.mark_stale(site_id)
    if lapsed or sites:
        log.info("lapsed %s bookings; online numbers lapsed at sites %s", lapsed, sorted(sites))
    return lapsed, sites


class BookingSweeps:
    """The rounds of the booking-sweep task (`sweep_bookings_now`); an outage is logged (server/failure_log.py),
    not fatal."""

    def __init__(self, ctx: Luot, every_seconds: float = BOOKING_SWEEP_EVERY_SECONDS) -> None:
        self.ctx = ctx
        self.every_seconds = every_seconds
        self.failures = FailureLog(log, "the booking sweep")

    def round(self) -> None:
        try:
            sweep_bookings_now(self.ctx)
        except Exception as exc:
            self.failures.failed(exc, f"retrying in {self.every_seconds:g} s")
        else:
            self.failures.worked()


def run_booking_sweeps_forever(ctx: Luot, socketio: Any, every_seconds: float = BOOKING_SWEEP_EVERY_SECONDS) -> None:
    """A background task: `sweep_bookings_now` every `every_seconds` (BookingSweeps)."""
    sweeps = BookingSweeps(ctx, every_seconds)
    while True:
        sweeps.round()
        socketio.sleep(every_seconds)
