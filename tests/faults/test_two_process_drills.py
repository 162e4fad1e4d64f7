"""Fault drills for two processes on PostgreSQL + Redis (issue 19), under a steady load of two kiosks, two clerks
(one of each per process) and 24 live.js-like boards spread over both processes; checks in `tests.faults.drill`.
A drill on PostgreSQL or Redis puts a FaultProxy between both processes and that engine, and cuts or hangs it.

- Redis restarted empty (FLUSHDB): the numbering restarts under a new epoch; boards resync and announce on.
- Redis cut for 3 s, or hung (accepting, never answering) for 8 s: writes answer 503 meanwhile; after it,
  every call reaches every board.
- PostgreSQL cut for 3 s, or hung for 8 s: the same.
- One process, or both, SIGKILLed and started again: boards reconnect and announce on. Recovery is when every
  process serves again (a call made on the first process back cannot reach the boards of one still starting).

The figures are printed (pytest -s): see `tests.faults.drill.check`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import redis

from server.process import ServerProcess
from tests.faults.drill import Load, check
from tests.scaleout.conftest import (  # noqa: F401 (fixtures)
    CLAIM_KEY,
    PG_PORT,
    REDIS_PORT,
    pg_database,
    pg_url,
    redis_db,
    redis_url,
    scale_world,
    shared_instance,
    start_server,
)
from tests.support.live_board import LiveBoard, wait_until
from tests.support.proxy import FaultProxy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.faults,
    pytest.mark.scaleout,
    pytest.mark.timeout(240),
    # A client socket of the test's own side, dropped unclosed while connections are cut, hung and refused (seen
    # once in about ten runs of redis_hung, allocation not traced; engineio's client leaves a websocket unclosed
    # when the server accepts it but no OPEN packet follows). Only this warning: every other one still fails.
    pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"),
]

BOARDS = 24
CUT = 3.0  # seconds a cut lasts
HANG = 8.0  # seconds a hang lasts: beyond LUOT_REDIS_TIMEOUT (2 s), LUOT_DB_TIMEOUT (5 s) and a device's 5 s wait


def _flush(number: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=number)
    claim = client.get(CLAIM_KEY)
    client.flushdb()
    if claim:
        client.set(CLAIM_KEY, claim, ex=3600)
    client.close()


def _outage(proxy: FaultProxy, how: Callable[[], None], seconds: float) -> None:
    """`how` (the proxy's cut or hang) for `seconds`, then the proxy forwards again."""
    how()
    began = time.monotonic()
    wait_until(lambda: time.monotonic() - began > seconds, seconds + 2, "the outage's length")
    proxy.restore()


def _restart(servers: list[ServerProcess]) -> None:
    """SIGKILL every server of `servers`, then start them again on the same ports."""
    for server in servers:
        server.kill()
    for server in servers:
        server.start()


@pytest.mark.parametrize(
    "fault",
    [
        "redis_emptied",
        "redis_cut",
        "redis_hung",
        "postgresql_cut",
        "postgresql_hung",
        "sigkill_one",
        "sigkill_both",
    ],
)
def test_two_processes_every_call_after_a_fault_reaches_every_board_in_order(
    fault: str,
    scale_world,  # noqa: F811
    start_server,  # noqa: F811
):
    world = scale_world.world
    to_redis, to_postgresql = FaultProxy(REDIS_PORT), FaultProxy(PG_PORT)
    # only the engine the drill takes away is reached through its proxy (a proxy costs every query some time)
    name = scale_world.database_url.rsplit("/", 1)[1]
    database = pg_url(name, to_postgresql.port if fault.startswith("postgresql") else PG_PORT)
    queue = redis_url(scale_world.redis_number, to_redis.port if fault.startswith("redis") else REDIS_PORT)
    servers = [start_server(database, queue), start_server(database, queue)]
    faults: dict[str, Callable[[], None]] = {
        "redis_emptied": lambda: _flush(scale_world.redis_number),
        "redis_cut": lambda: _outage(to_redis, to_redis.cut, CUT),
        "redis_hung": lambda: _outage(to_redis, to_redis.hang, HANG),
        "postgresql_cut": lambda: _outage(to_postgresql, to_postgresql.cut, CUT),
        "postgresql_hung": lambda: _outage(to_postgresql, to_postgresql.hang, HANG),
        "sigkill_one": lambda: _restart(servers[:1]),
        "sigkill_both": lambda: _restart(servers),
    }
    boards = [LiveBoard(servers[i % 2].url, world.board_token) for i in range(BOARDS)]
    clerks = [(servers[0].url, "clerk1", world.counters["c1"]), (servers[1].url, "clerk2", world.counters["c2"])]
    load = Load([s.url for s in servers], world.kiosk_token, clerks)
    try:
        wait_until(lambda: all(b.heard.snapshots for b in boards), 20, "every board's first snapshot")
        load.start()
        wait_until(lambda: len(load.calls) >= 5, 20, "calls before the fault")
        faults[fault]()  # returns once the fault is over: engine reachable, processes serving
        recovered, recovered_at = time.monotonic(), datetime.now(UTC)
        wait_until(lambda: len(load.calls_since(recovered)) >= 15, 60, "calls after recovery")
        load.finish()
        print(f"\ndrill two processes {fault}:", check(boards, load, recovered, recovered_at, servers[0].url))
    finally:
        load.finish()
        for board in boards:
            board.close()
        for server in servers:  # before their engines go away
            server.stop()
        to_redis.close()
        to_postgresql.close()
