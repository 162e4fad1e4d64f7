"""A slow PostgreSQL query must not stall the other green threads of an eventlet or gevent process.

psycopg 3 waits for the server in C unless told otherwise, and C does not yield to the hub: one
`pg_sleep` would freeze every websocket of the process. Measured in a subprocess patched like `luot serve`:
a ticker thread keeps a timestamp log while the main thread runs a slow query through the project's Database.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration._live import ROOT
from tests.scaleout.conftest import pg_url

pytestmark = pytest.mark.scaleout

QUERY_SECONDS = 0.5
TICK_SECONDS = 0.01

PROBE = """
import json, sys, threading, time
from server.asyncmode import prepare

mode = prepare(sys.argv[1])
import sqlalchemy as sa
from server.db import Database
from server.settings import load_settings

db = Database(load_settings(environ={}, database_url=sys.argv[2], async_mode=mode))
with db.read() as session:  # connect first: the measure is about a query, not the connection
    session.execute(sa.text("SELECT 1"))
ticks, done = [], threading.Event()

def tick():
    while not done.is_set():
        ticks.append(time.monotonic())
        time.sleep(float(sys.argv[4]))

ticker = threading.Thread(target=tick)
ticker.start()
time.sleep(0)  # let the ticker take its first turn
with db.read() as session:
    start = time.monotonic()
    session.execute(sa.text("SELECT pg_sleep(:s)"), {"s": float(sys.argv[3])})
    end = time.monotonic()
done.set()
ticker.join()
db.dispose()
inside = [start] + [t for t in ticks if start < t < end] + [end]
print(json.dumps({"query": end - start, "longest_gap": max(b - a for a, b in zip(inside, inside[1:]))}))
"""


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_a_slow_query_leaves_other_green_threads_running(mode, pg_database):
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, mode, pg_url(*pg_database), str(QUERY_SECONDS), str(TICK_SECONDS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["query"] >= QUERY_SECONDS
    # the ticker kept ticking while the query waited: no pause anywhere near the query's length
    assert result["longest_gap"] < QUERY_SECONDS / 2, result
