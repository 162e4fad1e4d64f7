"""A write waiting for another process's lock on the SQLite file keeps the rest of the server answering.

SQLite's own busy wait runs in C and, under eventlet or gevent, holds the process's only OS thread: with a CLI
command or a second process holding the write lock, every request and socket of the server stood still for up to
30 s (found from outside). Writes now wait for the lock in green sleeps (`server.db.begin_immediate`).
"""

from __future__ import annotations

import socket
import sqlite3
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
