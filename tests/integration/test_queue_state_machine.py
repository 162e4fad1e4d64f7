"""Random sessions of issue/call/recall/transfer/hold/finish over several counters keep every invariant."""

from __future__ import annotations

import itertools
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlmodel import select

from server.clock import ManualClock, local_date
from server.db import Database
from server.domain import errors, queueing
from server.domain.ordering import US_PER_MINUTE, micros
from server.domain.projection import project
from server.line_store import LineStore
from server.models import Counter, NumberSequence, Ticket, TicketEvent
from server.runner import Runner
from server.settings import load_settings
from tests.conftest import WEDNESDAY_9AM
from tests.support.world import build_world

SERVICES = ["TP-A", "TP-B", "CA-X"]
COUNTERS = [("c1", "clerk1"), ("c2", "clerk2"), ("c3", "clerk3")]
_folders = itertools.count()


class QueueMachine(RuleBasedStateMachine):
    template: Path
    root: Path

    def __init__(self) -> None:
        super().__init__()
        folder = self.root / f"run-{next(_folders)}"
        shutil.copytree(self.template, folder)
        self.db = Database(load_settings(environ={}, instance_dir=str(folder), sqlite_synchronous="OFF"))
        self.clock = ManualClock(WEDNESDAY_9AM)
        self.lines = LineStore(self.db, self.clock)
        self.run = Runner(self.db, self.clock, lambda events: None, lines=self.lines)
        self.world = build_world(self.db)
        for counter, clerk in COUNTERS:
            self.run(queueing.open_counter, self.world.counters[counter], self.world.users[clerk])
        self.issued: set[int] = set()
        self.finished: set[int] = set()

    def teardown(self) -> None:
        self.db.dispose()

    def _try(self, use_case, *args, **kwargs):
        try:
            return self.run(use_case, *args, **kwargs)
        except errors.DomainError:
            return None

    def _counter(self, index: int) -> tuple[int, int]:
        counter, clerk = COUNTERS[index]
        return self.world.counters[counter], self.world.users[clerk]

    @rule(service=st.sampled_from(SERVICES), priority=st.sampled_from(["", "", "elderly", "merit"]))
    def issue(self, service: str, priority: str) -> None:
        outcome = self.run(queueing.issue_ticket, site_id=self.world.site_id, service_code=service, priority=priority)
        self.issued.add(outcome.ticket.id)

    @rule(index=st.integers(0, 2))
    def call_next(self, index: int) -> None:
        outcome = self._try(queueing.call_next, *self._counter(index))
        for event in outcome.events if outcome else []:
            if event.kind == "finished":
                assert event.ticket.id not in self.finished, "a ticket was finished twice"
                self.finished.add(event.ticket.id)

    @rule(
        index=st.integers(0, 2),
        action=st.sampled_from(
            [queueing.recall, queueing.start, queueing.no_show, queueing.pause_counter, queueing.resume_counter]
        ),
    )
    def act(self, index: int, action) -> None:
        self._try(action, *self._counter(index))

    @rule(index=st.integers(0, 2))
    def finish(self, index: int) -> None:
        outcome = self._try(queueing.finish, *self._counter(index))
        if outcome:
            assert outcome.ticket.id not in self.finished, "a ticket was finished twice"
            self.finished.add(outcome.ticket.id)

    @rule(index=st.integers(0, 2), service=st.sampled_from(SERVICES))
    def transfer(self, index: int, service: str) -> None:
        self._try(queueing.transfer, *self._counter(index), service)

    @rule(index=st.integers(0, 2))
    def hold(self, index: int) -> None:
        self._try(queueing.hold, *self._counter(index), "giấy tờ")

    @precondition(lambda self: bool(self.issued))
    @rule(data=st.data(), index=st.integers(0, 2))
    def return_held(self, data, index: int) -> None:
        ticket_id = data.draw(st.sampled_from(sorted(self.issued)))
        self._try(queueing.return_ticket, ticket_id, self._counter(index)[1])

    @rule(minutes=st.integers(1, 400))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @invariant()
    def the_line_in_memory_is_the_line_in_the_database(self) -> None:
        now = self.clock.now()
        line = self.lines.site(self.world.site_id, now)
        with self.db.read() as s:
            today = s.exec(select(Ticket).where(Ticket.site_id == self.world.site_id)).all()
        today = [t for t in today if t.service_date == local_date(now)]
        assert set(line.waiting) == {t.id for t in today if t.status == "waiting"}
        assert set(line.held) == {t.id for t in today if t.status == "held"}
        for ticket in today:
            if ticket.id in line.waiting:
                view = line.waiting[ticket.id]
                assert (view.service_id, view.queue_since, view.priority) == (
                    ticket.service_id,
                    ticket.queue_since,
                    ticket.priority,
                )
        at_counters = {c: t.id for c, t in line.at_counter.items()}
        with self.db.read() as s:
            counters = {c.id: c for c in s.exec(select(Counter).where(Counter.site_id == self.world.site_id)).all()}
        assert at_counters == {cid: c.current_ticket_id for cid, c in counters.items() if c.current_ticket_id}
        for counter_id, counter in counters.items():
            assert (line.counters[counter_id].status, line.counters[counter_id].priority_streak) == (
                counter.status,
                counter.priority_streak,
            )

    @invariant()
    def the_kept_projection_is_a_fresh_projection_of_the_whole_site(self) -> None:
        """Pools played again only when touched give what one play of the whole site gives now (but `position`,
        which counts within a pool); calls made after are in the same order."""
        now = self.clock.now()
        line = self.lines.site(self.world.site_id, now)
        kept = line.projection(now)
        typical = {sid: int(line.typical_minutes(sid) * US_PER_MINUTE) for sid in line.services}
        whole = project(list(line.line_tickets().values()), line.line_counters(now), typical, micros(now), line.rules)
        if kept.at_us == micros(now):  # a pool kept from a minute ago has its own (older) instant
            strip = lambda f: (f.counter_id, f.call_in_us, f.ahead)  # noqa: E731
            assert {t: strip(f) for t, f in kept.forecasts.items()} == {t: strip(f) for t, f in whole.forecasts.items()}
            assert kept.sequence == whole.sequence
        assert set(kept.forecasts) == set(whole.forecasts)

    @invariant()
    def nothing_is_lost_or_served_twice(self) -> None:
        with self.db.read() as s:
            tickets = {t.id: t for t in s.exec(select(Ticket)).all()}
            counters = s.exec(select(Counter)).all()
            sequences = {q.id: q for q in s.exec(select(NumberSequence)).all()}
            finishes = s.exec(select(TicketEvent.ticket_id).where(TicketEvent.kind == "finished")).all()
        assert set(tickets) == self.issued, "an acknowledged ticket is missing"
        assert len(finishes) == len(set(finishes)), "a ticket was finished twice"
        current = [c.current_ticket_id for c in counters if c.current_ticket_id]
        assert len(current) == len(set(current)), "two counters hold the same ticket"
        for ticket_id in current:
            assert tickets[ticket_id].status in ("called", "serving")
        in_service = [t.id for t in tickets.values() if t.status in ("called", "serving")]
        assert sorted(in_service) == sorted(current), "a called ticket belongs to no counter"
        numbers: dict[tuple, list[int]] = defaultdict(list)
        for t in tickets.values():
            numbers[(t.sequence_id, t.service_date)].append(t.number)
        for (sequence_id, _day), values in numbers.items():
            first = sequences[sequence_id].first_number
            assert sorted(values) == list(range(first, first + len(values))), "numbers have a gap or a repeat"


class DeferredQueueMachine(QueueMachine):
    """The same sessions with the lines learning each commit after it (eventlet and gevent, `LineStore.defer`): a
    commit's events wait until the hub's sender drains them (`sender_runs`) or the next read of a line."""

    def __init__(self) -> None:
        super().__init__()
        self.lines.defer = True

    @rule()
    def sender_runs(self) -> None:
        self.lines.drain()


@pytest.mark.parametrize(
    ("machine", "examples"), [(QueueMachine, 25), (DeferredQueueMachine, 15)], ids=["applied-at-once", "deferred"]
)
def test_random_sessions_never_lose_a_ticket_serve_one_twice_or_break_numbering(
    machine: type[QueueMachine], examples: int, migrated_instance, tmp_path
):
    machine.template = migrated_instance
    machine.root = tmp_path
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
