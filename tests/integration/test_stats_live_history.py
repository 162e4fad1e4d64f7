"""Live and history tell the same figures for the same finished day (issue 12), and live stays cheap (issue 13).

A random day is played through the real use cases (`Runner`, SQLite file, `ManualClock`) while the live figures
(`server.stats.live.LiveStats`, fed by the committed events) are read now and then; at 23:59 the live table is
taken; the next morning the day is rolled up and history is asked for the same day. Every figure per service,
per agency and for the site must be equal: arrivals, first calls, served, mean and p90 wait, within target,
no-shows, wait to the last call, service time, ratings.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.app import create_app
from server.clock import LOCAL_TZ, ManualClock
from server.domain import queueing
from server.domain.errors import DomainError
from server.settings import load_settings
from server.stats.live import LiveStats, expand
from server.stats.queries import Filters, history
from server.stats.rollup import rollup_day
from tests.support.api import bearer, staff_token
from tests.support.world import build_world

DAY = date(2026, 11, 18)  # a Wednesday
COMPARED = (
    "issued",
    "called",
    "served",
    "avg_wait_min",
    "p90_wait_min",
    "max_wait_min",
    "within_target",
    "no_show",
    "no_show_rate",
    "avg_wait_last_call_min",
    "avg_service_min",
    "service_within_target",
    "recalled",
    "transferred_in",
    "transferred_out",
    "held",
    "ratings",
    "satisfaction",
)
SERVICES = ("TP-A", "TP-B", "CA-X", "CA-Y")
COUNTERS = ("c1", "c2", "c3")
CLERKS = {"c1": "clerk1", "c2": "clerk2", "c3": "clerk3"}

actions = st.lists(
    st.tuples(
        st.sampled_from(
            (
                *("issue", "issue", "issue", "issue", "next", "next", "next", "recall", "start", "finish", "finish"),
                *("no_show", "no_show", "transfer", "hold", "return", "rate", "read", "open"),
            )
        ),
        st.integers(0, 3),  # service / counter / ticket index
        st.sampled_from(("", "", "elderly")),
        st.integers(0, 25),  # minutes before the action
    ),
    min_size=5,
    max_size=45,
)


def at(hour: int, minute: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


def play(app, world, clock: ManualClock, steps: list[tuple[str, int, str, int]]) -> None:
    """Plays the steps from 07:00 (bounded: at most 45 steps of ≤ 25 min end before 23:59)."""
    luot = app.extensions["luot"]
    run = luot.run
    issued: list[int] = []
    finished: list[int] = []
    held: list[int] = []
    for name in COUNTERS:  # open from the start (an "open" step later is refused, or reopens after nothing)
        run(queueing.open_counter, world.counters[name], world.users[CLERKS[name]])
    for kind, index, priority, minutes in steps:
        clock.advance(minutes=minutes)
        counter_name = COUNTERS[index % 3]
        counter, clerk = world.counters[counter_name], world.users[CLERKS[counter_name]]

        def issue(index: int = index, priority: str = priority) -> None:
            for _ in range(1 + index % 3):
                outcome = run(
                    queueing.issue_ticket, site_id=world.site_id, service_code=SERVICES[index], priority=priority
                )
                issued.append(outcome.ticket.id)

        def return_held(clerk: int = clerk) -> None:
            if held:
                run(queueing.return_ticket, held.pop(0), clerk)

        def rate(index: int = index) -> None:
            if finished:
                run(
                    queueing.rate,
                    finished[index % len(finished)],
                    ("very_satisfied", "unsatisfied")[index % 2],
                    source="phone",
                )

        c, k, i = counter, clerk, index
        actions = {
            "issue": issue,
            "open": lambda c=c, k=k: run(queueing.open_counter, c, k),
            "next": lambda c=c, k=k: run(queueing.call_next, c, k),
            "recall": lambda c=c, k=k: run(queueing.recall, c, k),
            "start": lambda c=c, k=k: run(queueing.start, c, k),
            "finish": lambda c=c, k=k: finished.append(run(queueing.finish, c, k).ticket.id),
            "no_show": lambda c=c, k=k: run(queueing.no_show, c, k),
            "transfer": lambda c=c, k=k, i=i: run(queueing.transfer, c, k, SERVICES[(i + 1) % 4]),
            "hold": lambda c=c, k=k: held.append(run(queueing.hold, c, k, "giấy tờ").ticket.id),
            "return": return_held,
            "rate": rate,
            "read": lambda: luot.live_stats.answer(world.site_id),  # built early, then fed by later events
        }
        act = actions[kind]

        try:
            try:
                act()
            except DomainError as exc:
                if exc.code != "no_current_ticket":
                    raise
                run(queueing.call_next, counter, clerk)  # a clerk action on an idle counter: call someone first
                act()
        except DomainError:
            pass  # a step the state does not allow (nothing waiting, service closed…): the day goes on


def history_of_day(app, world) -> tuple[dict, dict, dict]:
    """(per service, per agency, total) for DAY from its roll-up, asked the next morning."""
    luot = app.extensions["luot"]
    now = luot.clock.now()
    with luot.db.write() as session:
        rollup_day(session, DAY, world.site_id, now)
    with luot.db.read() as session:
        by_service = history(session, Filters(DAY, DAY, (world.site_id,), by="service"), now)
        by_agency = history(session, Filters(DAY, DAY, (world.site_id,), by="agency"), now)
    return (
        {k: by_service.breakdown_figures(k) for k in by_service.breakdown},
        {k: by_agency.breakdown_figures(k) for k in by_agency.breakdown},
        by_service.total_figures(),
    )


def assert_same(live: dict, past: dict | None, what: str) -> None:
    if past is None:  # nothing happened there that day: the live row is empty
        assert live["issued"] == live["called"] == live["served"] == 0, what
        assert live["p90_wait_min"] is None, what
        return
    assert {k: live[k] for k in COMPARED} == {k: past[k] for k in COMPARED}, what


def assert_live_equals_history(live: dict, past: tuple[dict, dict, dict]) -> None:
    services, agencies, total = past
    live = expand(live)
    assert set(live["services"]) >= set(services) and set(live["agencies"]) >= set(agencies)
    for service_id, row in live["services"].items():
        assert_same(row, services.get(service_id), f"service {service_id}")
    for agency_id, row in live["agencies"].items():
        assert_same(row, agencies.get(agency_id), f"agency {agency_id}")
    assert_same(live["total"], total, "site")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=actions)
def test_live_figures_of_a_random_day_equal_its_history(steps, migrated_instance, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"day-{uuid.uuid4().hex[:8]}") / "instance"
    shutil.copytree(migrated_instance, folder)
    clock = ManualClock(at(7, 0))
    app = create_app(
        load_settings(environ={}, instance_dir=str(folder), async_mode="threading", log_level="WARNING"), clock=clock
    )
    try:
        luot = app.extensions["luot"]
        world = build_world(luot.db)
        luot.live_stats.answer(world.site_id)  # the figures exist before the first ticket
        play(app, world, clock, steps)
        clock.set(at(23, 59))
        live = luot.live_stats.answer(world.site_id)
        rebuilt = LiveStats(luot.db, clock).answer(world.site_id)  # from the log alone
        assert {k: v for k, v in rebuilt.items() if k != "now"} == {k: v for k, v in live.items() if k != "now"}
        clock.set(at(8, 0, DAY + timedelta(days=1)))
        assert_live_equals_history(live, history_of_day(app, world))
    finally:
        app.extensions["luot"].close()
        shutil.rmtree(folder.parent, ignore_errors=True)


def test_the_live_endpoint_after_a_scripted_day_equals_history(app, luot, world, clock, client):
    """Through `/dashboard/api/live`: two services, a recall, a transfer, a hold, a no-show, a rating."""
    run = luot.run
    c1, c2, c3 = (world.counters[c] for c in COUNTERS)
    clerk1, clerk2, clerk3 = (world.users[CLERKS[c]] for c in COUNTERS)
    clock.set(at(8, 0))
    for counter, clerk in ((c1, clerk1), (c2, clerk2), (c3, clerk3)):
        run(queueing.open_counter, counter, clerk)
    manager = bearer(staff_token(client, "manager"))
    assert client.get("/dashboard/api/live", headers=manager).status_code == 200  # built before the day's tickets
    a = run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    run(queueing.issue_ticket, site_id=world.site_id, service_code="CA-X", priority="elderly")
    clock.set(at(8, 4))
    run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A")
    clock.set(at(8, 7))
    run(queueing.call_next, c1, clerk1)  # a: 7 min
    run(queueing.call_next, c3, clerk3)  # CA-X elderly: 7 min
    clock.set(at(8, 9))
    run(queueing.recall, c1, clerk1)
    run(queueing.start, c1, clerk1)
    run(queueing.no_show, c3, clerk3)
    clock.set(at(8, 12))
    run(queueing.transfer, c1, clerk1, "TP-B")
    run(queueing.call_next, c2, clerk2)  # the second TP-A: 8 min
    clock.set(at(8, 15))
    run(queueing.hold, c2, clerk2, "thiếu giấy")
    run(queueing.call_next, c1, clerk1)  # a again (TP-B): not a first call
    clock.set(at(8, 30))
    run(queueing.finish, c1, clerk1)
    run(queueing.rate, a.id, "satisfied", source="phone")
    assert client.get("/dashboard/api/live", headers=manager).status_code == 200
    clock.set(at(23, 59))
    manager = bearer(staff_token(client, "manager"))  # a token lives 12 hours
    live = client.get("/dashboard/api/live", headers=manager).get_json()
    total = expand(live)["total"]
    assert total["called"] == 3 and total["p90_wait_min"] == 8.0  # waits 7, 7, 8
    assert total["avg_wait_last_call_min"] == (15 + 7) / 2  # a: 08:00 → 08:15; the no-show: → 08:07
    # a constant-size answer: one list of figures per service and agency, no wait samples, no ticket ids
    assert sorted(live) == ["agencies", "day", "fields", "now", "services", "site_id", "total"]
    assert all(len(values) == len(live["fields"]) for values in live["services"].values())
    clock.set(at(8, 0, DAY + timedelta(days=1)))
    assert_live_equals_history(live, history_of_day(app, world))


def test_a_ticket_of_yesterday_finished_today_counts_today_with_its_service_time(luot, world, clock):
    """The live figures were built after midnight, before the ticket's next event: its earlier events are read then."""
    run, counter, clerk = luot.run, world.counters["c1"], world.users["clerk1"]
    clock.set(at(23, 50))
    run(queueing.open_counter, counter, clerk)
    run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A")
    clock.set(at(23, 55))
    run(queueing.call_next, counter, clerk)
    clock.set(at(23, 56))
    run(queueing.start, counter, clerk)
    thursday = DAY + timedelta(days=1)
    clock.set(at(0, 1, thursday))
    assert expand(luot.live_stats.answer(world.site_id))["total"]["served"] == 0  # built: nothing yet today
    clock.set(at(0, 4, thursday))
    run(queueing.finish, counter, clerk)
    live = expand(luot.live_stats.answer(world.site_id))["total"]
    assert (live["served"], live["called"], live["avg_service_min"]) == (1, 0, 8.0)  # started 23:56, finished 00:04
    assert live["avg_wait_last_call_min"] == 5.0  # issued 23:50, called 23:55: counted at the finish, today
    with luot.db.read() as session:
        today = history(session, Filters(thursday, thursday, (world.site_id,)), clock.now()).total_figures()
    assert {k: live[k] for k in COMPARED} == {k: today[k] for k in COMPARED}


def test_a_live_read_asks_the_log_only_for_the_events_it_has_not_seen(luot, world, clock):
    """After the build, a read is the highest event id and one primary-key range (no query over the day's
    tickets); with no new event, the figures are not computed again."""
    from sqlalchemy import event

    run, counter, clerk = luot.run, world.counters["c1"], world.users["clerk1"]
    clock.set(at(8, 0))
    run(queueing.open_counter, counter, clerk)
    for _ in range(30):
        run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A")
    for _ in range(20):
        clock.advance(minutes=1)
        run(queueing.call_next, counter, clerk)
        run(queueing.finish, counter, clerk)
    luot.live_stats.answer(world.site_id)  # built
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(luot.db.engine, "before_cursor_execute", seen)
    try:
        first = luot.live_stats.answer(world.site_id)
        run(queueing.call_next, counter, clerk)
        statements.clear()
        second = luot.live_stats.answer(world.site_id)
    finally:
        event.remove(luot.db.engine, "before_cursor_execute", seen)
    queries = [q for q in statements if not q.startswith("BEGIN")]
    assert len(queries) == 2 and "max(ticketevent.id)" in queries[0], statements  # the highest id, then the range
    assert "ticketevent.id > ?" in queries[1] and "ticketevent.id <= ?" in queries[1]
    assert "ticketevent.site_id + ?" in queries[1]  # not the (site, at) index: no scan of the day's log
    assert expand(second)["total"]["called"] == expand(first)["total"]["called"] + 1 == 21
    assert luot.live_stats.builds == 1
    assert luot.live_stats.answer(world.site_id)["services"] is second["services"]  # no new event: not recomputed


def test_two_servers_on_one_file_show_the_same_live_figures(app, luot, world, clock, settings):
    """A second app on the same SQLite file stands for a second `luot serve`: the events it commits reach the
    first one's live figures at its next read (no message between them), and the other way round."""
    other = create_app(settings, clock=clock)
    try:
        theirs = other.extensions["luot"]
        clock.set(at(8, 0))
        theirs.run(queueing.open_counter, world.counters["c1"], world.users["clerk1"])
        before = expand(luot.live_stats.answer(world.site_id))["total"]  # built here before the other's events
        assert expand(theirs.live_stats.answer(world.site_id))["total"] == before
        luot.run(queueing.issue_ticket, site_id=world.site_id, service_code="CA-X")
        for _ in range(3):
            theirs.run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A")
        clock.set(at(8, 6))
        theirs.run(queueing.call_next, world.counters["c1"], world.users["clerk1"])
        mine, seen_there = (expand(x.live_stats.answer(world.site_id))["total"] for x in (luot, theirs))
        assert mine == seen_there
        assert (mine["issued"], mine["called"], mine["avg_wait_min"], mine["p90_wait_min"]) == (4, 1, 6.0, 6.0)
    finally:
        other.extensions["luot"].close()
