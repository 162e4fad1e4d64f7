"""The background loops of `luot serve` while their database is away (server/failure_log.py): the first failed
round is one line with its traceback, then at most one short reminder a minute, and one line when a round works
again — not a traceback every round (the IT officer's D7: 3,693 lines in 30 s of a PostgreSQL outage).

The outage is real: the tables the loops read are renamed away in the test's SQLite file and renamed back."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from server.context import Luot
from server.failure_log import FailureLog
from server.maintenance import BookingSweeps, DayCloseRounds
from tests.support.world import World

AWAY = ("outboxmessage", "appointment", "ticket")


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rename_tables(luot: Luot, away: bool) -> None:
    with luot.db.write() as session:
        for table in AWAY:
            old, new = (table, f"{table}_away") if away else (f"{table}_away", table)
            session.execute(sa.text(f'ALTER TABLE "{old}" RENAME TO "{new}"'))
        session.commit()


def message_worker(luot: Luot) -> tuple[Callable[[], object], list[FailureLog]]:
    return luot.messages.round, [luot.messages.failures]


def day_close(luot: Luot) -> tuple[Callable[[], object], list[FailureLog]]:
    rounds = DayCloseRounds(luot)

    def first_round_of_a_day() -> float:  # the purge runs too (once a day, until it worked)
        rounds.purged_on = None
        return rounds.round()

    return first_round_of_a_day, [rounds.close_failures, rounds.purge_failures]


def booking_sweeps(luot: Luot) -> tuple[Callable[[], object], list[FailureLog]]:
    sweeps = BookingSweeps(luot)
    return sweeps.round, [sweeps.failures]


@pytest.mark.parametrize("loop", [message_worker, day_close, booking_sweeps])
def test_an_outage_is_one_traceback_then_a_reminder_a_minute_then_one_line_when_back(
    luot: Luot, world: World, caplog: pytest.LogCaptureFixture, loop: Callable
) -> None:
    one_round, failure_logs = loop(luot)
    ticks = Ticks()
    for failures in failure_logs:
        failures.monotonic = ticks
    one_round()  # the database is there: nothing to say
    caplog.set_level(logging.INFO, logger="server")
    caplog.clear()
    rename_tables(luot, away=True)
    for _ in range(100):  # a hundred rounds within the same second
        one_round()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == len(failure_logs) and len(caplog.records) == len(failure_logs)
    assert all("no such table" in r.exc_text for r in tracebacks if r.exc_text)
    caplog.clear()
    for _ in range(59):
        ticks.now += 1.0
        one_round()
    assert caplog.records == []  # no reminder within the minute
    ticks.now += 1.0
    one_round()
    one_round()
    assert len(caplog.records) == len(failure_logs)  # one reminder each, short
    assert all(r.exc_info is None and "still failing after 60 s" in r.getMessage() for r in caplog.records)
    caplog.clear()
    rename_tables(luot, away=False)
    ticks.now += 5.0
    one_round()
    one_round()
    assert [r.getMessage().split(" works again")[0] for r in caplog.records] == [f.what for f in failure_logs]
    assert all("works again after 65 s" in r.getMessage() for r in caplog.records)
