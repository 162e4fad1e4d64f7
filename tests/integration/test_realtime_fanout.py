"""Publishing to many boards: the call leaves first, and on the eventlet server every board — read at once, read
late, or upgraded from long-polling — gets every event of its site, in sequence, without a gap."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from server.domain.queueing import call_next, issue_ticket, open_counter, start
from server.process import ServerProcess
from tests.integration._live import ROOT, Api, Listener
from tests.support.sockets import named, receive_until
from tests.support.world import build_world

# `luot serve` whose direct writes meet a crowded socket: every other send takes 7 bytes, every fifth would block
# (so the rest of a frame is finished later under the lock, and packets fall back to the writer's queue).
CROWDED_SERVE = """
from server.asyncmode import prepare
prepare("eventlet")
from server import direct_send

class Fd:
    sends = 0
    def __init__(self, fd):
        self.real = fd
    def send(self, data):
        Fd.sends += 1
        if Fd.sends % 5 == 0:
            raise BlockingIOError()
        return self.real.send(data[:7] if Fd.sends % 2 else data)

class Crowded:
    def __init__(self, real):
        self.fd, self.real = Fd(real.fd), real
    def sendall(self, data):
        return self.real.sendall(data)

write = direct_send._write
def crowded_write(socket, ws, packets):
    real, ws.socket = ws.socket, Crowded(ws.socket)
    try:
        write(socket, ws, packets)
    finally:
        ws.socket = real
direct_send._write = crowded_write
from server.commands import cli
cli.main(args=["serve"], prog_name="luot")
"""


class CrowdedServer(ServerProcess):
    def start(self, timeout: float = 30.0) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CROWDED_SERVE], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        self.wait_healthy(timeout)


def test_a_call_leaves_before_the_finish_of_the_citizen_served_before(app, socketio, luot, world) -> None:
    board = socketio.test_client(app, auth={"token": world.board_token})
    counter, clerk = world.counters["c1"], world.users["clerk1"]
    luot.run(open_counter, counter, clerk)
    served = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    waiting = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    luot.run(call_next, counter, clerk)
    luot.run(start, counter, clerk)
    assert luot.hub.figures.settled()
    board.get_received()
    luot.run(call_next, counter, clerk)  # finishes `served`, calls `waiting`
    # the line's figures follow off the request, once
    received = [(m["name"], m["args"][0]) for m in receive_until(board, named("queue.changed"))]
    assert [name for name, _ in received] == ["ticket.called", "ticket.updated", "counter.changed", "queue.changed"]
    assert received[0][1]["ticket"]["id"] == waiting.id
    assert received[1][1]["ticket"]["id"] == served.id and received[1][1]["kind"] == "finished"
    seqs = [payload["seq"] for _, payload in received]
    assert seqs == list(range(seqs[0], seqs[0] + 4))
    board.disconnect()


class RawBoard:
    """A websocket-only Socket.IO client on a plain socket, as a board's browser would open it (deflate offered)."""

    def __init__(self, url: str, token: str, receive_buffer: int = 0) -> None:
        host, port = url.split("//", 1)[1].split(":")
        self.sock = socket.socket()
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        self.head = self._until(b"\r\n\r\n").decode("latin-1")
        assert self.packet().startswith(b"0")  # Engine.IO open
        self._send(b"40" + json.dumps({"token": token}).encode())
        self.events: list[tuple[str, dict[str, Any]]] = []
        while not any(name == "snapshot" for name, _ in self.events):
            self.read_one()

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.buffer += data

    def _take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def packet(self) -> bytes:
        first, second = self._take(2)
        assert not first & 0x70, "no compression, no reserved bits"
        length = second & 0x7F
        if length >= 126:
            length = int.from_bytes(self._take(2 if length == 126 else 8), "big")
        assert first & 0x0F == 0x1, f"a text frame, not opcode {first & 0x0F}"
        return self._take(length)

    def read_one(self) -> None:
        packet = self.packet()
        if packet == b"2":
            self._send(b"3")
        elif packet.startswith(b"42"):
            name, payload = json.loads(packet[2:])
            self.events.append((name, payload))

    def read_until_called(self, ticket_ids: set[int], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not ticket_ids <= self.called() and time.monotonic() < deadline:
            self.read_one()

    def called(self) -> set[int]:
        return {payload["ticket"]["id"] for name, payload in self.events if name == "ticket.called"}

    def _send(self, text: bytes) -> None:
        mask = os.urandom(4)
        assert len(text) < 126
        self.sock.sendall(bytes([0x81, 0x80 | len(text)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(text)))

    def close(self) -> None:
        self.sock.close()


@pytest.mark.slow
@pytest.mark.parametrize("server_class", [ServerProcess, CrowdedServer], ids=["sockets-with-room", "crowded-sockets"])
def test_eventlet_boards_get_every_event_in_order_however_they_read(tmp_path: Path, server_class: type) -> None:
    server = server_class(tmp_path / "instance", async_mode="eventlet")
    world = server.prepare(build_world)
    server.start()
    api = Api(server.url)
    everyone: list[RawBoard] = []
    upgraded = None
    try:
        boards = [RawBoard(server.url, world.board_token) for _ in range(4)]
        late = RawBoard(server.url, world.board_token, receive_buffer=2048)  # reads only once all is sent
        everyone = [*boards, late]
        upgraded = Listener(server.url, {"token": world.board_token})  # long-polling, then the websocket
        upgraded.next("snapshot")
        clerk, counter = api.login("clerk1"), world.counters["c1"]
        api.ok(f"/counters/{counter}/open", token=clerk)
        calls = 40
        for _ in range(calls):
            api.ok("/tickets", {"service": "TP-A"}, token=world.kiosk_token)
        called: list[int] = []
        for index in range(calls):
            if index:
                api.ok(f"/counters/{counter}/start", token=clerk)
            called.append(api.ok(f"/counters/{counter}/next", token=clerk)["ticket"]["id"])
            for board in boards:
                board.read_until_called({called[-1]})
        late.read_until_called(set(called))
        assert [upgraded.next("ticket.called")["ticket"]["id"] for _ in called] == called
        for board in everyone:
            assert "sec-websocket-extensions" not in board.head.lower()
            assert [p["ticket"]["id"] for name, p in board.events if name == "ticket.called"] == called
            (snapshot, *events) = [payload["seq"] for _, payload in board.events]
            assert events == list(range(snapshot + 1, snapshot + 1 + len(events))), "a gap: the board would resync"
    finally:
        for board in everyone:
            board.close()
        if upgraded is not None:
            upgraded.close()
        api.close()
        server.stop()
