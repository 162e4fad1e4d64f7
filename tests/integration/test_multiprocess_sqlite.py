"""Two counters pressing "next" at the same instant on one SQLite file never get the same ticket:
from separate processes (SQLite's own lock, BEGIN IMMEDIATE) and from threads of one process (the
Database write lock)."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter as Tally
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from server.clock import LOCAL_TZ, ManualClock
from server.db import Database
from server.domain import errors, queueing
from server.instance import initialise
from server.models import Ticket, TicketEvent
from server.settings import Settings, load_settings
from tests.support.world import World, build_world

ROUNDS = 60
TICKETS = 90  # fewer than 2 × ROUNDS: the last rounds fight over the last tickets and some come back empty
NOON = datetime(2026, 11, 18, 10, 0, tzinfo=LOCAL_TZ)


def _settings(tmp_path: Path) -> Settings:
    settings = load_settings(environ={}, instance_dir=str(tmp_path / "instance"), async_mode="threading")
    initialise(settings)
    return settings


def _prepare(settings: Settings) -> tuple[World, list[tuple[int, int]]]:
    db = Database(settings)
    world = build_world(db)
    with db.write() as session:
        for _ in range(TICKETS):
            queueing.issue_ticket(session, NOON, site_id=world.site_id, service_code="TP-A")
    clerks = [(world.counters["c1"], world.users["clerk1"]), (world.counters["c2"], world.users["clerk2"])]
    for counter_id, user_id in clerks:
        with db.write() as session:
            queueing.open_counter(session, NOON, counter_id, user_id)
    db.dispose()
    return world, clerks


def _call_rounds(db: Database, barrier, counter_id: int, user_id: int) -> list[int]:
    """Each round: wait for the other counter, call next, then no-show the citizen to free the counter."""
    clock = ManualClock(NOON)
    claimed: list[int] = []
    for _ in range(ROUNDS):
        barrier.wait(timeout=30)
        try:
            with db.write() as session:
                outcome = queueing.call_next(session, clock.advance(seconds=1), counter_id, user_id)
        except errors.NoTicketWaiting:
            continue
        assert outcome.ticket is not None
        claimed.append(outcome.ticket.id)
        with db.write() as session:
            queueing.no_show(session, clock.now(), counter_id, user_id)
    return claimed


def _process_worker(settings: Settings, barrier, counter_id: int, user_id: int, results) -> None:
    db = Database(settings)
    try:
        results.put((counter_id, _call_rounds(db, barrier, counter_id, user_id)))
    except BaseException as exc:
        barrier.abort()
        results.put((counter_id, repr(exc)))
        raise
    finally:
        db.dispose()


def _check(settings: Settings, claims: list[list[int]]) -> None:
    every = [ticket_id for claimed in claims for ticket_id in claimed]
    duplicates = [tid for tid, n in Tally(every).items() if n > 1]
    assert not duplicates, f"tickets called by both counters: {duplicates}"
    assert all(claims), "both counters should have called someone"
    db = Database(settings)
    with db.read() as session:
        tickets = session.exec(select(Ticket)).all()
        calls = session.exec(select(TicketEvent).where(TicketEvent.kind == "called")).all()
    db.dispose()
    assert len(every) == TICKETS == len(tickets)
    assert {t.status for t in tickets} == {"no_show"}
    assert sorted(e.ticket_id for e in calls) == sorted(every)


@pytest.mark.slow
def test_two_counters_in_separate_processes_never_get_the_same_ticket(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _world, clerks = _prepare(settings)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(clerks))
    results = context.Queue()
    workers = [
        context.Process(target=_process_worker, args=(settings, barrier, counter_id, user_id, results))
        for counter_id, user_id in clerks
    ]
    for worker in workers:
        worker.start()
    try:
        claims = [results.get(timeout=120)[1] for _ in workers]
        failures = [claim for claim in claims if isinstance(claim, str)]
        assert not failures, failures
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
    assert all(worker.exitcode == 0 for worker in workers)
    _check(settings, claims)


def test_two_counters_in_separate_threads_never_get_the_same_ticket(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _world, clerks = _prepare(settings)
    db = Database(settings)
    barrier = threading.Barrier(len(clerks))
    claims: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def run(counter_id: int, user_id: int) -> None:
        try:
            claims[counter_id] = _call_rounds(db, barrier, counter_id, user_id)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=clerk) for clerk in clerks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    db.dispose()
    assert not errors, errors
    _check(settings, list(claims.values()))
