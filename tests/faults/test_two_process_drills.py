"""Fault drills for two processes on PostgreSQL + Redis (issue 19), under a steady load of two kiosks, two clerks
(one of each per process) and 24 live.js-like boards spread over both processes; checks in `tests.faults.drill`.

- Redis restarted empty (FLUSHDB): the numbering restarts under a new epoch; boards resync and announce on.
- Redis cut for a few seconds: writes answer 503 meanwhile; after it, every call reaches every board.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import redis

from tests.faults.drill import Load, check
from tests.scaleout.conftest import (  # noqa: F401 (fixtures)
    CLAIM_KEY,
    REDIS_PORT,
    pg_database,
    redis_db,
    redis_url,
    scale_world,
    shared_instance,
    start_server,
)
from tests.support.live_board import LiveBoard, wait_until
from tests.support.proxy import FaultProxy

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.scaleout, pytest.mark.timeout(240)]

BOARDS = 24


def _flush(number: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=number)
    claim = client.get(CLAIM_KEY)
    client.flushdb()
    if claim:
        client.set(CLAIM_KEY, claim, ex=3600)
    client.close()


@pytest.mark.parametrize("fault", ["redis_emptied", "redis_cut"])
def test_two_processes_every_call_after_a_redis_fault_reaches_every_board_in_order(
    fault: str,
    scale_world,  # noqa: F811
    start_server,  # noqa: F811
):
    world = scale_world.world
    proxy = FaultProxy(REDIS_PORT)
    queue = redis_url(scale_world.redis_number, proxy.port)
    servers = [start_server(scale_world.database_url, queue), start_server(scale_world.database_url, queue)]
    boards = [LiveBoard(servers[i % 2].url, world.board_token) for i in range(BOARDS)]
    clerks = [(servers[0].url, "clerk1", world.counters["c1"]), (servers[1].url, "clerk2", world.counters["c2"])]
    load = Load([s.url for s in servers], world.kiosk_token, clerks)
    try:
        wait_until(lambda: all(b.heard.snapshots for b in boards), 20, "every board's first snapshot")
        load.start()
        wait_until(lambda: len(load.calls) >= 5, 20, "calls before the fault")
        if fault == "redis_emptied":
            _flush(scale_world.redis_number)
        else:
            proxy.cut()
            cut = time.monotonic()
            wait_until(lambda: time.monotonic() - cut > 3, 5, "three seconds of outage")  # the fault's length
            proxy.restore()
        recovered, recovered_at = time.monotonic(), datetime.now(UTC)
        wait_until(lambda: len(load.calls_since(recovered)) >= 15, 60, "calls after recovery")
        load.finish()
        print(f"drill two processes {fault}:", check(boards, load, recovered, recovered_at, servers[0].url))
    finally:
        load.finish()
        for board in boards:
            board.close()
        proxy.close()
