"""Boards hear every event of their site in order, whatever Redis and the processes do (issue 19, items 1 and 2).

- A Redis emptied under a running server (restart without persistence, FLUSHDB) restarts the numbering: the
  epoch changes with it, so boards resync from a snapshot instead of dropping every later event as stale.
- Two processes number and publish in one atomic step: each board receives a site's events in seq order, with
  no gap, and announces every call.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.integration._live import Api
from tests.scaleout.conftest import CLAIM_KEY, REDIS_PORT, pg_url, redis_url
from tests.support.live_board import LiveBoard, wait_until

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]


def _flush(number: int) -> None:
    """FLUSHDB, as a Redis restarted without persistence would be; the test's claim on the number is kept."""
    client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=number)
    claim = client.get(CLAIM_KEY)
    client.flushdb()
    if claim:
        client.set(CLAIM_KEY, claim, ex=3600)
    client.close()


def test_an_emptied_redis_starts_a_new_epoch_and_boards_announce_the_calls_after_it(scale_world, start_server):
    world = scale_world.world
    server = start_server(scale_world.database_url, redis_url(scale_world.redis_number))
    kiosk, clerk = Api(server.url, world.kiosk_token), Api(server.url)
    clerk.token = clerk.login("clerk1")
    counter = world.counters["c1"]
    board = LiveBoard(server.url, world.board_token)
    try:
        wait_until(lambda: board.heard.snapshots == 1, 10, "the first snapshot")
        first_epoch = board.epoch
        clerk.ok(f"/counters/{counter}/open")
        for _ in range(8):
            kiosk.ok("/tickets", {"service": "TP-A"})
        for _ in range(3):
            clerk.ok(f"/counters/{counter}/next")
            clerk.ok(f"/counters/{counter}/start")  # the next "next" finishes it
        wait_until(lambda: len(board.announced()) == 3, 10, "the three calls before the flush")
        seq_before = board.last_seq or 0

        _flush(scale_world.redis_number)
        for _ in range(2):
            clerk.ok(f"/counters/{counter}/next")
            clerk.ok(f"/counters/{counter}/start")
        wait_until(lambda: len(board.announced()) == 5, 10, "the two calls after the flush, announced")

        epochs = {epoch for _, _, epoch in board.heard.events}
        assert len(epochs) == 2 and first_epoch in epochs, epochs
        renumbered = [seq for _, seq, epoch in board.heard.events if epoch != first_epoch]
        assert renumbered and min(renumbered) == 1 and max(renumbered) < seq_before  # the counter did restart
        assert board.epoch != first_epoch and board.heard.snapshots >= 2
    finally:
        board.close()
        kiosk.close()
        clerk.close()


def test_two_processes_deliver_a_sites_events_to_every_board_in_order(scale_world, start_server):
    world = scale_world.world
    queue = redis_url(scale_world.redis_number)
    servers = [start_server(scale_world.database_url, queue), start_server(scale_world.database_url, queue)]
    boards = [LiveBoard(servers[i % 2].url, world.board_token) for i in range(6)]
    clerks = list(scale_world.clerks.items())[:4]
    calls: list[int] = []
    failures: list[str] = []
    stop = threading.Event()
    try:
        wait_until(lambda: all(b.heard.snapshots for b in boards), 10, "every board's snapshot")

        def kiosk(index: int) -> None:
            api = Api(servers[index % 2].url, world.kiosk_token)
            while not stop.is_set():
                response = api.post("/tickets", {"service": "TP-A"})
                if response.status_code != 201:
                    failures.append(response.text)
            api.close()

        def clerk(index: int, counter_name: str, username: str) -> None:
            api = Api(servers[index % 2].url)
            api.token = api.login(username)
            counter = world.counters[counter_name]
            api.ok(f"/counters/{counter}/open")
            while not stop.is_set():
                response = api.post(f"/counters/{counter}/next")
                if response.status_code == 200 and response.json().get("ticket"):
                    calls.append(response.json()["ticket"]["id"])
                    api.ok(f"/counters/{counter}/start")
                elif response.status_code >= 500:
                    failures.append(response.text)
            api.close()

        workers = [threading.Thread(target=kiosk, args=(i,)) for i in range(2)]
        workers += [threading.Thread(target=clerk, args=(i, *c)) for i, c in enumerate(clerks)]
        for worker in workers:
            worker.start()
        time.sleep(6)  # the length of the load, not a synchronisation
        stop.set()
        for worker in workers:
            worker.join(30)
        assert not failures, failures[:3]
        assert len(calls) >= 20, len(calls)

        def all_announced() -> bool:
            heard = set().union(*(b.heard.received_calls for b in boards))
            return len(heard) == len(calls) and all(set(b.announced()) >= heard for b in boards)

        wait_until(all_announced, 10, "every call announced on every board")
        for board in boards:
            resyncs = [entry for entry in board.heard.log if entry[0] in ("snapshot", "disconnect", "connect")]
            assert board.out_of_order() == 0, (board.anomalies(), resyncs)
            # never had to resync for a gap (a lost connection's snapshot is live.js's reconnect, not an order fault)
            assert board.heard.snapshots == 1 + len(board.heard.reconnected_at), resyncs
    finally:
        stop.set()
        for board in boards:
            board.close()


HUB_SCRIPT = """
import eventlet
eventlet.monkey_patch()
import json
import sys
from server.app import create_app
from server.settings import load_settings

instance, database, queue = sys.argv[1:4]
app = create_app(load_settings(environ={}, instance_dir=instance, database_url=database, message_queue=queue))
hub = app.extensions["luot"].hub
log = []
hub.outgoing.send = lambda events: log.append(("sent", events))
def request():
    hub.publish(["called"])
    log.append(("answered", None))  # the answer is written without yielding
eventlet.spawn(request).wait()
eventlet.sleep(0)
eventlet.sleep(0)
print(json.dumps([step for step, _ in log]))
app.extensions["luot"].close()
"""


@pytest.mark.parametrize("queue", [True, False], ids=["redis queue", "one process"])
def test_with_a_redis_queue_a_transactions_events_are_numbered_before_the_answer(
    queue: bool, shared_instance, pg_database, redis_db, tmp_path
):
    """Two processes number at send time, each from its own queue: a call sent after its answer could be numbered
    after a call asked on the other process once it was answered. With a queue the hub sends first; alone, one
    process's queue is the site's order, and the answer goes first (issue 13)."""
    instance = tmp_path / "instance"
    shutil.copytree(shared_instance, instance)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore::DeprecationWarning",
            "-c",
            HUB_SCRIPT,
            str(instance),
            pg_url(*pg_database),
            redis_url(redis_db) if queue else "",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    order = json.loads(done.stdout.strip().splitlines()[-1])
    assert order == (["sent", "answered"] if queue else ["answered", "sent"]), order
