"""One line, one truth: counters that call next in the order the projection assumes call every ticket exactly at its
projected position, and a ticket's "people ahead" is the number of tickets called before it on counters that can
serve it. Random sites and lines (Hypothesis), through the real use cases on a real SQLite file."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from server.clock import ManualClock
from server.db import Database
from server.domain import errors, queueing
from server.domain.ordering import micros
from server.line_store import LineStore
from server.models import Appointment, Ticket
from server.provisioning import create_agency, create_counter, create_sequence, create_service, create_site, create_user
from server.runner import Runner
from server.settings import load_settings
from tests.conftest import WEDNESDAY_9AM
from tests.support.world import password_hash

_folders = itertools.count()


@dataclass
class Plan:
    """A random site and the story of its line before the projection is made."""

    services: int
    counters: list[tuple[dict[int, int], str]]  # (service → weight, "open" | "paused" | "closed")
    rules: dict[str, int]
    steps: list[tuple] = field(default_factory=list)


@st.composite
def plans(draw) -> Plan:
    services = draw(st.integers(1, 4))
    counters = []
    for _ in range(draw(st.integers(1, 5))):
        served = draw(st.sets(st.integers(0, services - 1), min_size=1))
        weights = {s: draw(st.sampled_from([1, 1, 1, 2, 3])) for s in sorted(served)}
        counters.append((weights, draw(st.sampled_from(["open", "open", "open", "paused", "closed"]))))
    rules = {
        "priority_streak_limit": draw(st.integers(1, 4)),
        "ordinary_aging_minutes": draw(st.sampled_from([0, 15, 30])),
    }
    steps = []
    for _ in range(draw(st.integers(1, 22))):
        kind = draw(st.sampled_from(["issue", "issue", "issue", "priority", "appointment", "wait", "serve"]))
        if kind == "serve":  # a counter calls someone, then transfers, holds (and maybe returns) or keeps them
            steps.append(
                (
                    "serve",
                    draw(st.integers(0, len(counters) - 1)),
                    draw(st.sampled_from(["keep", "start", "transfer", "hold", "return"])),
                    draw(st.integers(0, services - 1)),
                )
            )
        elif kind == "wait":
            steps.append(("wait", draw(st.integers(1, 40))))
        else:
            steps.append((kind, draw(st.integers(0, services - 1)), draw(st.integers(-30, 30))))
    return Plan(services, counters, rules, steps)


class Hall:
    """The plan played on a fresh database: a site, its counters and clerks, and the Runner with its lines."""

    def __init__(self, template: Path, root: Path, plan: Plan) -> None:
        folder = root / f"hall-{next(_folders)}"
        shutil.copytree(template, folder)
        self.db = Database(load_settings(environ={}, instance_dir=str(folder), sqlite_synchronous="OFF"))
        self.clock = ManualClock(WEDNESDAY_9AM)
        self.lines = LineStore(self.db, self.clock)
        self.run = Runner(self.db, self.clock, lambda events: None, lines=self.lines)
        self.plan = plan
        with self.db.write() as s:
            site = create_site(s, "P", "Projection", **plan.rules)
            agency = create_agency(s, site, "A", "Agency")
            services = [
                create_service(
                    s, agency, f"S{i}", f"Service {i}", sequence=create_sequence(s, site, f"Q{i}", "", 1, 999)
                )
                for i in range(plan.services)
            ]
            self.services = [service.id for service in services]
            self.codes = [service.code for service in services]
            self.site_id = site.id
            self.counters: list[tuple[int, int]] = []
            for number, (weights, _state) in enumerate(plan.counters, start=1):
                chosen = [services[i] for i in weights]
                counter = create_counter(
                    s, site, number, chosen, weights={services[i].code: w for i, w in weights.items()}
                )
                clerk = create_user(s, f"clerk{number}", "", site=site, password_hash=password_hash())
                self.counters.append((counter.id, clerk.id))
        for (_weights, state), (counter, clerk) in zip(plan.counters, self.counters, strict=True):
            if state != "closed":
                self.run(queueing.open_counter, counter, clerk)

    def play(self) -> None:
        appointments = itertools.count(1)
        held: list[int] = []
        for step in self.plan.steps:
            kind = step[0]
            if kind == "wait":
                self.clock.advance(minutes=step[1])
            elif kind == "serve":
                self._serve(*step[1:], held)
            elif kind == "appointment":
                code = f"B{next(appointments)}"
                with self.db.write() as s:
                    slot = self.clock.now() + timedelta(minutes=step[2])
                    s.add(Appointment(site_id=self.site_id, service_id=self.services[step[1]], code=code, slot_at=slot))
                self._try(queueing.issue_ticket, site_id=self.site_id, appointment_code=code)
            else:
                priority = "elderly" if kind == "priority" else ""
                self._try(
                    queueing.issue_ticket, site_id=self.site_id, service_code=self.codes[step[1]], priority=priority
                )
            self.clock.advance(seconds=7)
        for (_weights, state), (counter, clerk) in zip(self.plan.counters, self.counters, strict=True):
            if state == "paused":
                self.run(queueing.pause_counter, counter, clerk)

    def _serve(self, index: int, then: str, service: int, held: list[int]) -> None:
        counter, clerk = self.counters[index]
        if self._try(queueing.start, counter, clerk) is not None or self._current(counter) is not None:
            self._try(queueing.finish, counter, clerk)
        called = self._try(queueing.call_next, counter, clerk)
        if called is None or called.ticket is None:
            return
        if then == "start":
            self._try(queueing.start, counter, clerk)
        elif then == "transfer" and self.codes[service] != self._code(called.ticket.service_id):
            self._try(queueing.transfer, counter, clerk, self.codes[service])
        elif then in ("hold", "return"):
            self._try(queueing.hold, counter, clerk, "giấy tờ")
            held.append(called.ticket.id)
            if then == "return":
                self._try(queueing.return_ticket, held.pop(0), clerk)

    def _code(self, service_id: int) -> str:
        return self.codes[self.services.index(service_id)]

    def _current(self, counter_id: int) -> int | None:
        line = self.lines.site(self.site_id)
        ticket = line.at_counter.get(counter_id)
        return ticket.id if ticket else None

    def _try(self, use_case, *args, **kwargs):
        try:
            return self.run(use_case, *args, **kwargs)
        except errors.DomainError:
            return None


def _replay(hall: Hall) -> tuple[dict, list[tuple[int, int]]]:
    """Counters call next in the order and at the times the projection assumes; returns the projection's forecasts
    and the (ticket, counter) calls that really happened."""
    now = hall.clock.now()
    projection = hall.lines.site(hall.site_id, now).projection(now)
    counter_clerk = dict(hall.counters)
    calls = []
    for _ticket_id, counter_id, call_in in projection.sequence:
        if call_in is None:
            break
        hall.clock.set(now + timedelta(microseconds=call_in))
        clerk = counter_clerk[counter_id]
        hall._try(queueing.start, counter_id, clerk)  # a citizen called and not yet come is served now
        outcome = hall.run(queueing.call_next, counter_id, clerk)
        calls.append((outcome.ticket.id if outcome.ticket else None, counter_id))
    return projection.forecasts, calls


@pytest.fixture
def halls(migrated_instance, tmp_path):
    made: list[Hall] = []

    def make(plan: Plan) -> Hall:
        made.append(Hall(migrated_instance, tmp_path, plan))
        return made[-1]

    yield make
    for hall in made:
        hall.db.dispose()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(plan=plans())
def test_counters_calling_next_call_every_ticket_at_its_projected_place(halls, plan):
    hall = halls(plan)
    hall.play()
    now = hall.clock.now()
    line = hall.lines.site(hall.site_id, now)
    projection = line.projection(now)
    with hall.db.read() as s:
        waiting = s.exec(select(Ticket.id).where(Ticket.status == "waiting")).all()
    assert set(projection.forecasts) == set(waiting)  # the line in memory is the database's line
    calling = {c.id for c in line.line_counters(now) if c.calling}
    weights = {c.id: dict(c.weights) for c in line.counters.values()}
    service_of = {tid: view.service_id for tid, view in line.waiting.items()}
    forecasts, calls = _replay(hall)
    projected = [(tid, counter) for tid, counter, call_in in projection.sequence if call_in is not None]
    assert calls == projected  # every ticket called exactly at its projected position, by the projected counter
    for position, (ticket_id, _counter) in enumerate(calls):
        pool = {c for c in calling if service_of[ticket_id] in weights[c]}
        before = sum(1 for _t, counter in calls[:position] if counter in pool)
        assert forecasts[ticket_id].ahead == before
    for ticket_id, forecast in forecasts.items():
        if forecast.call_in_us is None:  # no calling counter serves it: no minutes promised
            assert not any(service_of[ticket_id] in weights[c] for c in calling)


def test_people_ahead_counted_per_service_would_break_the_promise(halls):
    """The issue's example: counters 1–3 serve all four services; three tickets of one service, then one of another:
    per service, that fourth citizen would be told "0 ahead" although three are called before them."""
    plan = Plan(
        2,
        [({0: 1, 1: 1}, "open")] * 3,
        {"priority_streak_limit": 3, "ordinary_aging_minutes": 30},
        [("issue", 0, 0), ("issue", 0, 0), ("issue", 0, 0), ("issue", 1, 0)],
    )
    hall = halls(plan)
    hall.play()
    now = hall.clock.now()
    line = hall.lines.site(hall.site_id, now)
    fourth = max(line.waiting)
    per_service = sum(1 for v in line.waiting.values() if v.service_id == line.waiting[fourth].service_id) - 1
    forecasts, calls = _replay(hall)
    assert per_service == 0 and forecasts[fourth].ahead == 3
    assert [t for t, _c in calls].index(fourth) == 3


def test_the_projection_follows_the_clock_in_whole_microseconds(halls):
    plan = Plan(
        1,
        [({0: 1}, "open")],
        {"priority_streak_limit": 3, "ordinary_aging_minutes": 30},
        [("issue", 0, 0), ("wait", 30), ("issue", 0, 0)],
    )
    hall = halls(plan)
    hall.play()
    now = hall.clock.now()
    projection = hall.lines.site(hall.site_id, now).projection(now)
    assert projection.at_us == micros(now)


@pytest.mark.parametrize(
    ("elderly", "expected"),
    [(3, ["P1", "P2", "P3", "X", "Y"]), (5, ["P1", "P2", "P3", "X", "P4", "P5", "Y"])],
)
def test_after_the_streak_the_aged_ordinary_citizen_goes_before_one_just_issued(halls, elderly, expected):
    """D5 through Call next: elderly P1…, ordinary X, 33 minutes, ordinary Y. After three priority calls the
    longest-waiting ordinary citizen (X, aged into the priority class) goes next, not Y; X's call ends the streak,
    so further elderly citizens come before Y. The projection promises that very order."""
    plan = Plan(
        1,
        [({0: 1}, "open")],
        {"priority_streak_limit": 3, "ordinary_aging_minutes": 30},
        [("priority", 0, 0)] * elderly + [("issue", 0, 0), ("wait", 33), ("issue", 0, 0)],
    )
    hall = halls(plan)
    hall.play()
    now = hall.clock.now()
    line = hall.lines.site(hall.site_id, now)
    names = dict(zip(sorted(line.waiting), [f"P{i}" for i in range(1, elderly + 1)] + ["X", "Y"], strict=True))
    projected = [names[ticket_id] for ticket_id, _counter, _at in line.projection(now).sequence]
    _forecasts, calls = _replay(hall)
    assert projected == expected
    assert [names[ticket_id] for ticket_id, _counter in calls] == expected
