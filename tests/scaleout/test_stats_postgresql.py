"""Live and history agree on PostgreSQL too, with two apps on one database standing for two processes: the
exact waits travel as `bytea` blobs in the roll-ups (migration 0004), and each app's live figures read the
events the other committed (primary-key range read with its look-back for late commits)."""

from __future__ import annotations

from datetime import timedelta

from server.app import create_app
from server.clock import ManualClock
from server.domain import queueing
from server.settings import load_settings
from server.stats.live import LiveStats, expand
from tests.integration.test_stats_live_history import DAY, assert_live_equals_history, at, history_of_day
from tests.scaleout.conftest import redis_url


def test_live_equals_history_on_postgresql_with_two_apps(scale_world, shared_instance):
    clock = ManualClock(at(8, 0))
    settings = load_settings(
        environ={},
        instance_dir=str(shared_instance),
        database_url=scale_world.database_url,
        message_queue=redis_url(scale_world.redis_number),
        async_mode="threading",
        log_level="WARNING",
    )
    apps = [create_app(settings, clock=clock) for _ in range(2)]
    try:
        one, two = (app.extensions["luot"] for app in apps)
        world = scale_world.world
        site = world.site_id
        one.run(queueing.open_counter, world.counters["c1"], world.users["clerk1"])
        two.run(queueing.open_counter, world.counters["c3"], world.users["clerk3"])
        assert one.live_stats.answer(site)["total"] == two.live_stats.answer(site)["total"]  # both built now
        for minute, (luot, code) in enumerate(((one, "TP-A"), (two, "CA-X"), (two, "TP-A"), (one, "CA-X"))):
            clock.set(at(8, minute))
            luot.run(queueing.issue_ticket, site_id=site, service_code=code)
        late = LiveStats(one.db, clock)  # built when the day already has events: the next reads look back over them
        late.answer(site)
        clock.set(at(8, 10))
        one.run(queueing.call_next, world.counters["c1"], world.users["clerk1"])
        two.run(queueing.call_next, world.counters["c3"], world.users["clerk3"])
        clock.set(at(8, 13))
        one.run(queueing.finish, world.counters["c1"], world.users["clerk1"])
        two.run(queueing.no_show, world.counters["c3"], world.users["clerk3"])
        clock.set(at(23, 59))
        live = one.live_stats.answer(site)
        mine, theirs = expand(live), expand(two.live_stats.answer(site))
        assert mine["total"] == theirs["total"] == expand(late.answer(site))["total"]
        assert (mine["total"]["called"], mine["total"]["served"], mine["total"]["no_show"]) == (2, 1, 1)
        clock.set(at(8, 0, DAY + timedelta(days=1)))
        assert_live_equals_history(live, history_of_day(apps[0], world))
    finally:
        for app in apps:
            app.extensions["luot"].close()
