"""Statistics of a small day, every figure computed by hand, driven through the real queue use cases.

Site HN (tests/support/world.py), Wednesday 18/11/2026, local time (UTC+7). Targets: wait 15 min, service 20.

  06:55 T0 CA-X issued (= 23:55 UTC on Tuesday: a UTC-date bug would put it on the wrong day)
  08:00 counters 1, 2, 3 opened by clerk1, clerk2, clerk3; T1 TP-A issued; counter 3 calls T0 (wait 65)
  08:01 counter 3 starts T0; 08:06 finishes it (service 5)
  08:05 T2 TP-A issued, priority elderly, by staff
  08:10 T3 CA-X issued
  08:12 counter 1 calls T2 (priority first; wait 7); counter 2 calls T1 (wait 12)
  08:13 counter 1 starts T2; 08:14 counter 2 recalls T1; 08:15 counter 2 starts T1
  08:20 counter 1 finishes T2 (service 7); counter 2 transfers T1 to TP-B (out TP-A, in TP-B)
  08:21 counter 1 calls T1 again (not a first call: no new wait); 08:22 T2 rated very satisfied
  08:25 counter 3 calls T3 (wait 15: within target); 08:26 starts; 08:27 holds T3
  08:30 T4 CA-X issued; counter 1 finishes T1 without Start (no start after its call: 08:21→08:30 = 9)
  08:31 T1 rated unsatisfied
  08:35 T3 returned; 08:40 counter 3 calls T3 again; 08:41 starts; 08:50 finishes (service 9)
  08:51 counter 3 calls T4 (wait 21); 08:52 T3 rated satisfied; 08:53 recall T4; 08:55 T4 no-show
  23:50 T5 TP-A issued; 23:55 counter 1 calls T5 (wait 5); 23:56 starts
  Thursday 00:04 counter 1 finishes T5 (service 8, counted on Thursday); 00:06 T5 rated satisfied
  Thursday 00:02 T6 TP-A issued (its number restarts at 1001)
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from server.clock import LOCAL_TZ, ManualClock
from server.context import Luot
from server.domain import queueing
from server.stats.compute import wait_bucket
from server.stats.live import expand
from server.stats.models import StatsDetail, StatsHourly, StatsRolledDay
from server.stats.queries import Filters, history, live_site
from server.stats.rollup import missing_days, roll_missing, rollup_day
from server.stats.rows import figures, p90_exact
from tests.support.world import World

WEDNESDAY, THURSDAY = date(2026, 11, 18), date(2026, 11, 19)
MIN = 60


def local(hour: int, minute: int, day: int = 18) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.fixture
def day(luot: Luot, world: World, clock: ManualClock) -> dict[str, int]:
    """Plays the day above; returns ticket ids by name."""
    run, c1, c2, c3 = luot.run, world.counters["c1"], world.counters["c2"], world.counters["c3"]
    clerk1, clerk2, clerk3 = world.users["clerk1"], world.users["clerk2"], world.users["clerk3"]
    site = world.site_id
    tickets: dict[str, int] = {}

    def at(hour: int, minute: int, day: int = 18) -> None:
        clock.set(local(hour, minute, day))

    def issue(name: str, service: str, **options: str) -> None:
        outcome = run(queueing.issue_ticket, site_id=site, service_code=service, **options)
        assert outcome.ticket is not None
        tickets[name] = outcome.ticket.id

    def called(outcome: queueing.Outcome, name: str) -> None:
        assert outcome.ticket is not None and outcome.ticket.id == tickets[name], (outcome.ticket, name)

    at(6, 55)
    issue("T0", "CA-X")
    at(8, 0)
    for counter, clerk in ((c1, clerk1), (c2, clerk2), (c3, clerk3)):
        run(queueing.open_counter, counter, clerk)
    issue("T1", "TP-A")
    called(run(queueing.call_next, c3, clerk3), "T0")
    at(8, 1)
    run(queueing.start, c3, clerk3)
    at(8, 5)
    issue("T2", "TP-A", priority="elderly", channel="staff")
    at(8, 6)
    run(queueing.finish, c3, clerk3)
    at(8, 10)
    issue("T3", "CA-X")
    at(8, 12)
    called(run(queueing.call_next, c1, clerk1), "T2")
    called(run(queueing.call_next, c2, clerk2), "T1")
    at(8, 13)
    run(queueing.start, c1, clerk1)
    at(8, 14)
    run(queueing.recall, c2, clerk2)
    at(8, 15)
    run(queueing.start, c2, clerk2)
    at(8, 20)
    run(queueing.finish, c1, clerk1)
    run(queueing.transfer, c2, clerk2, "TP-B")
    at(8, 21)
    called(run(queueing.call_next, c1, clerk1), "T1")
    at(8, 22)
    run(queueing.rate, tickets["T2"], "very_satisfied", source="phone")
    at(8, 25)
    called(run(queueing.call_next, c3, clerk3), "T3")
    at(8, 26)
    run(queueing.start, c3, clerk3)
    at(8, 27)
    run(queueing.hold, c3, clerk3, "thiếu bản sao CCCD")
    at(8, 30)
    issue("T4", "CA-X")
    run(queueing.finish, c1, clerk1)
    at(8, 31)
    run(queueing.rate, tickets["T1"], "unsatisfied", source="phone")
    at(8, 35)
    run(queueing.return_ticket, tickets["T3"], clerk3)
    at(8, 40)
    called(run(queueing.call_next, c3, clerk3), "T3")
    at(8, 41)
    run(queueing.start, c3, clerk3)
    at(8, 50)
    run(queueing.finish, c3, clerk3)
    at(8, 51)
    called(run(queueing.call_next, c3, clerk3), "T4")
    at(8, 52)
    run(queueing.rate, tickets["T3"], "satisfied", source="phone")
    at(8, 53)
    run(queueing.recall, c3, clerk3)
    at(8, 55)
    run(queueing.no_show, c3, clerk3)
    at(23, 50)
    issue("T5", "TP-A")
    at(23, 55)
    called(run(queueing.call_next, c1, clerk1), "T5")
    at(23, 56)
    run(queueing.start, c1, clerk1)
    at(0, 2, 19)
    issue("T6", "TP-A")
    at(0, 4, 19)
    run(queueing.finish, c1, clerk1)
    at(0, 6, 19)
    run(queueing.rate, tickets["T5"], "satisfied", source="phone")
    return tickets


def wednesday(luot: Luot, world: World, **filters: object) -> dict:
    with luot.db.read() as session:
        result = history(session, Filters(WEDNESDAY, WEDNESDAY, (world.site_id,), **filters), luot.clock.now())
    return {"total": result.total_figures(), "history": result}


def test_the_wait_buckets_have_the_documented_bounds():
    assert [wait_bucket(s * MIN) for s in (0, 1.99, 2, 5, 9.99, 10, 15, 20, 30, 45, 60, 89, 90, 400)] == [
        0,
        0,
        1,
        2,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        8,
        9,
        9,
    ]


def test_a_hand_computed_day(luot, world, day, clock):
    now = clock.now()  # Thursday 00:06: Wednesday is a finished day, Thursday is today
    with luot.db.write() as session:
        assert missing_days(session, [world.site_id], WEDNESDAY, WEDNESDAY) == [(WEDNESDAY, world.site_id)]
        events = rollup_day(session, WEDNESDAY, world.site_id, now)
    # Wednesday's ticket events. T0: issued called started finished (4); T1: issued called recalled started
    # transferred called started finished rated (9: each call starts afresh, so the finish without Start after
    # its second call logs an implicit start); T2: issued called started finished rated (5); T3: issued called
    # started held returned called started finished rated (9); T4: issued called recalled no_show (4);
    # T5: issued called started (3)
    assert events == 4 + 9 + 5 + 9 + 4 + 3
    total = wednesday(luot, world)["total"]
    assert total["issued"] == 6  # T0 … T5 (T0 at 06:55 local is Wednesday, T6 is Thursday)
    assert total["called"] == 6  # first calls only: T0, T2, T1, T3, T4, T5
    assert total["avg_wait_min"] == round((65 + 7 + 12 + 15 + 21 + 5) / 6, 1) == 20.8
    assert total["max_wait_min"] == 65
    assert total["within_target"] == 0.667  # 7, 12, 15, 5 ≤ 15; 65 and 21 are not: 4/6 to a tenth of a percent
    # histogram: 5 and 7 → [5,10); 12 → [10,15); 15 → [15,20); 21 → [20,30); 65 → [60,90)
    assert total["wait_histogram"] == [0, 0, 2, 1, 1, 1, 0, 0, 1, 0]
    # nearest rank over the exact waits 5, 7, 12, 15, 21, 65: the ⌈0.9 × 6⌉ = 6th
    assert total["p90_wait_min"] == 65.0
    # to the LAST call, counted at finish / no-show: T0 65, T2 7, T1 21 (08:00 → 08:21), T3 30 (08:10 → 08:40),
    # T4 23 (08:30 → recall 08:53, no-show); T5 is finished on Thursday
    assert total["avg_wait_last_call_min"] == round((65 + 7 + 21 + 30 + 23) / 5, 1) == 29.2
    assert total["served"] == 4  # T0, T2, T1, T3 (T5 finished on Thursday)
    assert total["avg_service_min"] == (5 + 7 + 9 + 9) / 4 == 7.5  # T1: no Start after its call: the call at 08:21
    assert total["service_within_target"] == 1.0
    assert total["no_show"] == 1 and total["no_show_rate"] == 0.167  # 1/6 = 16.67 % → 16.7 %
    assert total["recalled"] == 2  # T1 at 08:14, T4 at 08:53
    assert total["transferred_in"] == 1 and total["transferred_out"] == 1
    assert total["held"] == 1
    assert total["ratings"] == 3 and total["satisfaction"] == 0.667  # 2/3; T5's rating is Thursday's


def test_a_hand_computed_day_by_hour_agency_service_clerk_priority(luot, world, day, clock):
    with luot.db.write() as session:
        rollup_day(session, WEDNESDAY, world.site_id, clock.now())
    result = wednesday(luot, world)["history"]
    by_hour = {hour: figures(row) for hour, row in result.by_hour.items()}
    assert sorted(by_hour) == [6, 8, 23]
    assert by_hour[6]["issued"] == 1 and by_hour[6]["called"] == 0
    assert by_hour[8]["issued"] == 4 and by_hour[8]["called"] == 5 and by_hour[8]["served"] == 4
    assert by_hour[23]["issued"] == 1 and by_hour[23]["called"] == 1 and by_hour[23]["served"] == 0
    assert result.heat[(2, 8)] == 4 and result.heat[(2, 6)] == 1  # Wednesday is weekday 2
    agencies = {}
    with luot.db.read() as session:
        from sqlmodel import select

        from server.models import Agency, Service

        agencies = {a.code: a.id for a in session.exec(select(Agency))}
        services = {s.code: s.id for s in session.exec(select(Service))}
    tp = figures(result.breakdown[agencies["TP"]])
    assert (tp["issued"], tp["called"], tp["avg_wait_min"], tp["served"]) == (3, 3, 8.0, 2)  # waits 7, 12, 5
    ca = figures(result.breakdown[agencies["CA"]])
    assert (ca["issued"], ca["called"], ca["avg_wait_min"], ca["served"], ca["no_show"]) == (3, 3, 33.7, 2, 1)
    assert ca["held"] == 1
    by_service = wednesday(luot, world, by="service")["history"].breakdown
    tp_a, tp_b = figures(by_service[services["TP-A"]]), figures(by_service[services["TP-B"]])
    assert (tp_a["served"], tp_a["transferred_out"], tp_a["transferred_in"]) == (1, 1, 0)
    assert (tp_b["served"], tp_b["transferred_in"], tp_b["called"], tp_b["avg_service_min"]) == (1, 1, 0, 9.0)
    clerks = {k: figures(v) for k, v in wednesday(luot, world, by="clerk")["history"].breakdown.items()}
    clerk1, clerk2, clerk3 = (world.users[n] for n in ("clerk1", "clerk2", "clerk3"))
    assert (clerks[clerk1]["called"], clerks[clerk1]["served"], clerks[clerk1]["ratings"]) == (2, 2, 2)
    assert clerks[clerk1]["satisfaction"] == 0.5  # T2 very satisfied, T1 unsatisfied (both finished by clerk1)
    assert (clerks[clerk2]["called"], clerks[clerk2]["served"], clerks[clerk2]["recalled"]) == (1, 0, 1)
    assert (clerks[clerk3]["called"], clerks[clerk3]["served"], clerks[clerk3]["no_show"]) == (3, 2, 1)
    assert clerks[0]["issued"] == 6  # arrivals belong to no clerk
    elderly = wednesday(luot, world, priority="elderly")["total"]
    assert (elderly["issued"], elderly["called"], elderly["avg_wait_min"], elderly["served"]) == (1, 1, 7.0, 1)
    staff = wednesday(luot, world, channel="staff")["total"]
    assert staff["issued"] == 1 and staff["ratings"] == 1
    counter3 = wednesday(luot, world, counter_id=world.counters["c3"])["total"]
    assert (counter3["called"], counter3["served"], counter3["avg_service_min"]) == (3, 2, 7.0)  # 5 and 9


def test_thursday_is_live_and_the_range_joins_rollups_with_today(luot, world, day, clock):
    with luot.db.write() as session:  # what the history page does first: roll up finished days lacking one
        assert roll_missing(session, [world.site_id], WEDNESDAY, THURSDAY, clock.now()) == 1  # not today
    with luot.db.read() as session:
        thursday = figures(history(session, Filters(THURSDAY, THURSDAY, (world.site_id,)), clock.now()).totals)
        both = history(session, Filters(WEDNESDAY, THURSDAY, (world.site_id,), by="day"), clock.now())
    assert (thursday["issued"], thursday["called"], thursday["served"]) == (1, 0, 1)  # T6; T5 finished
    assert thursday["avg_service_min"] == 8.0 and thursday["ratings"] == 1 and thursday["satisfaction"] == 1.0
    assert figures(both.totals)["issued"] == 7 and figures(both.totals)["served"] == 5
    assert sorted(both.breakdown) == [WEDNESDAY, THURSDAY]
    assert figures(both.by_day[WEDNESDAY])["served"] == 4
    assert figures(both.by_day[THURSDAY])["served"] == 1


def test_rolling_a_day_up_twice_gives_the_same_rows(luot, world, day, clock):
    from sqlmodel import select

    def snapshot() -> tuple:
        with luot.db.read() as session:
            return (
                sorted((tuple(r.model_dump().items()) for r in session.exec(select(StatsDetail))), key=repr),
                sorted((tuple(r.model_dump().items()) for r in session.exec(select(StatsHourly))), key=repr),
                len(session.exec(select(StatsRolledDay)).all()),
            )

    with luot.db.write() as session:
        rollup_day(session, WEDNESDAY, world.site_id, clock.now())
    first = snapshot()
    with luot.db.write() as session:
        rollup_day(session, WEDNESDAY, world.site_id, clock.now())
    assert snapshot() == first and first[2] == 1


def test_the_live_day_keeps_exact_wait_samples(luot, world, day, clock):
    clock.set(local(9, 0))  # look at Wednesday while it is still today
    live = expand(live_site(luot.live_stats, world.site_id, clock.now()))
    with luot.db.read() as session:
        from sqlmodel import select

        from server.models import Service

        codes = {s.id: s.code for s in session.exec(select(Service))}
    services = {codes[service_id]: figures_ for service_id, figures_ in live["services"].items()}
    assert services["CA-X"]["p90_wait_min"] == 65.0  # waits 15, 21, 65: nearest rank ⌈0.9 × 3⌉ = 3rd
    assert services["TP-A"]["p90_wait_min"] == 12.0  # waits 7, 12
    assert p90_exact([15 * MIN, 21 * MIN, 65 * MIN]) == 65.0
    served = {code: s["served"] for code, s in services.items()}
    assert served == {"TP-A": 1, "TP-B": 1, "CA-X": 2, "CA-Y": 0}
    assert live["total"]["ratings"] == 3 and live["total"]["called"] == 6


def test_a_one_value_group_has_its_p90_equal_to_its_mean(luot, world, day, clock):
    """The history page once showed a counter's p90 of 4.2 min under a mean of 4.5: never with exact waits."""
    with luot.db.write() as session:
        rollup_day(session, WEDNESDAY, world.site_id, clock.now())
    result = wednesday(luot, world, by="counter")["history"]
    for key in result.breakdown:
        figures_ = result.breakdown_figures(key)
        if figures_["called"] == 1:
            assert figures_["p90_wait_min"] == figures_["avg_wait_min"]
    one = wednesday(luot, world, priority="elderly")["total"]  # T2 alone: wait 7
    assert one["called"] == 1 and one["p90_wait_min"] == one["avg_wait_min"] == 7.0
    for hour in result.by_hour:
        hourly = result.hour_figures(hour)
        if hourly["called"] == 1:
            assert hourly["p90_wait_min"] == hourly["avg_wait_min"]


def test_the_generator_makes_101_sites_whose_rollups_match_the_log(settings):
    """A tiny range of the synthetic year: its direct roll-ups equal a roll-up re-read from the event log."""
    from sqlmodel import Session, func, select

    from server.db import Database
    from server.models import Site, Ticket
    from server.stats.generator import generate

    db = Database(settings)
    monday, wednesday = date(2026, 11, 16), date(2026, 11, 18)
    with Session(db.engine) as session:
        totals = generate(session, monday, wednesday, sites=101, volume=0.05, seed=7, now=local(18, 0, 18))
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(Site)).one() == 101
        kinds = dict(session.exec(select(Site.kind, func.count()).group_by(Site.kind)).all())
        assert kinds == {"centre": 1, "branch": 9, "point": 91}
        assert session.exec(select(func.count()).select_from(Ticket)).one() == totals["tickets"] > 100
        generated = sorted(
            (tuple(r.model_dump().items()) for r in session.exec(select(StatsDetail).where(StatsDetail.day == monday))),
            key=repr,
        )
        rolled = session.exec(select(func.count()).select_from(StatsRolledDay)).one()
        assert rolled == 2 * 101  # Monday and Tuesday; Wednesday is "today"
        result = history(session, Filters(monday, monday, tuple(range(1, 102)), by="site"), local(18, 0, 18))
        peak = {h: figures(row)["issued"] for h, row in result.by_hour.items()}
    assert max(peak, key=peak.get) in (8, 9, 14)  # the morning or afternoon peak
    assert figures(result.totals)["served"] > 0 and figures(result.totals)["satisfaction"] > 0.8
    with db.write() as session:
        for site_id in range(1, 102):
            rollup_day(session, monday, site_id, local(18, 0, 18))
    with db.read() as session:
        again = sorted(
            (tuple(r.model_dump().items()) for r in session.exec(select(StatsDetail).where(StatsDetail.day == monday))),
            key=repr,
        )
    db.dispose()
    assert again == generated


def test_a_generated_today_goes_on_with_the_next_number(settings):
    """The generator's `dailynumber` holds the day's ordinal like the issuing code (server/domain/numbering.py): the
    first ticket issued after a generated today follows its last number (the bench's report part stopped at
    'numbers_exhausted' when it held the last number instead)."""
    from sqlmodel import Session, func, select

    from server.db import Database
    from server.domain import queueing
    from server.models import Service, Ticket
    from server.stats.generator import generate

    db = Database(settings)
    wednesday = date(2026, 11, 18)
    with Session(db.engine) as session:
        generate(session, wednesday, wednesday, sites=1, volume=0.05, seed=7, now=local(18, 0, 18))
        session.commit()
    with db.read() as session:
        service = session.exec(select(Service).order_by(Service.id)).first()
        assert service is not None
        last = session.exec(
            select(func.max(Ticket.number)).where(
                Ticket.sequence_id == service.sequence_id, Ticket.service_date == wednesday
            )
        ).one()
    assert last is not None
    with db.write() as session:
        outcome = queueing.issue_ticket(session, local(18, 0, 18), site_id=service.site_id, service_code=service.code)
    db.dispose()
    assert outcome.ticket is not None and outcome.ticket.number == last + 1
