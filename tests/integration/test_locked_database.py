"""A write waiting for another process's lock on the SQLite file keeps the rest of the server answering.

SQLite's own busy wait runs in C and, under eventlet or gevent, holds the process's only OS thread: with a CLI
command or a second process holding the write lock, every request and socket of the server stood still for up to
30 s (found from outside). Writes now wait for the lock in green sleeps (`server.db.begin_immediate`).
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from server.process import ServerProcess
from tests.support.world import build_world


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_a_write_waiting_for_the_lock_does_not_stop_the_other_requests(tmp_path: Path, mode: str) -> None:
    server = ServerProcess(tmp_path / "instance", async_mode=mode)
    world = server.prepare(build_world)
    server.start()
    locker = sqlite3.connect(tmp_path / "instance" / "luot.sqlite3", isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        body = b'{"service": "TP-A"}'
        request = (
            f"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {world.kiosk_token}\r\n"
            f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as kiosk:
            kiosk.sendall(request)  # the tap is on its way: its write waits for the lock
            for _ in range(3):
                began = time.monotonic()
                answer = requests.get(f"{server.url}/api/v1/openapi.json", timeout=10)
                assert answer.status_code == 200
                assert time.monotonic() - began < 5, "the server stood still behind the waiting write"
            locker.execute("COMMIT")  # the lock is free: the tap goes through, once
            reply = b""
            while chunk := kiosk.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 201"), reply[:200]
        with sqlite3.connect(tmp_path / "instance" / "luot.sqlite3") as reader:
            assert reader.execute("SELECT count(*) FROM ticket").fetchone()[0] == 1
    finally:
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()
        server.stop()


def test_writes_queued_behind_a_locked_file_share_one_wait(luot, world, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes waiting behind one another for a lock another process holds give up together, when the first does:
    each used to wait its own full time after the one before (30, 60, 90 s for three taps, found from outside)."""
    from server import db as db_module
    from server.domain.queueing import issue_ticket
    from server.runner import StorageUnavailable

    wait = 1.0
    monkeypatch.setattr(db_module, "WRITE_LOCK_WAIT_SECONDS", wait)
    database = Path(luot.db.url.removeprefix("sqlite:///"))
    locker = sqlite3.connect(database, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    outcomes: list[tuple[str, float]] = []
    began = time.monotonic()

    def tap() -> None:
        try:
            luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A", channel="kiosk")
            outcomes.append(("issued", time.monotonic() - began))
        except StorageUnavailable:
            outcomes.append(("503", time.monotonic() - began))

    try:
        taps = [threading.Thread(target=tap) for _ in range(3)]
        for thread in taps:
            thread.start()
        for thread in taps:
            thread.join(30)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert [outcome for outcome, _ in outcomes] == ["503"] * 3
    assert max(seconds for _, seconds in outcomes) < 2 * wait, outcomes  # not 1, 2 and 3 waits
    assert luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A", channel="kiosk").ticket is not None
