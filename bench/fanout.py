"""Call → last board latency with many connected Socket.IO clients, and memory per client.

The clients live in separate load processes (`python -m bench.fanout --url … --clients N`): non-blocking
sockets on one epoll, websocket transport only, speaking Engine.IO 4 / Socket.IO 5 directly (python-socketio's
AsyncClient needs aiohttp, which Lượt does not ship, and costs far more per client on a 2-core box; asyncio
streams cost the load processes about as much CPU as the server at 2,000 clients). Each load process prints READY,
records when each client reads each `ticket.called` (CLOCK_MONOTONIC is shared by processes), and on STOP
prints what it saw as one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import requests

from bench import BOARD_TOKEN, KIOSK_TOKEN, ROOT, BenchServer, percentile, rss_kib

CALLED = b'42["ticket.called",'
TICKET_ID = re.compile(rb'"ticket":\{"id":(\d+)')

# ---------------------------------------------------------------- the load process


class Board:
    """One Socket.IO client over a raw non-blocking websocket (client frames masked, as the protocol requires).

    Offers permessage-deflate as browsers do and inflates what comes compressed (RSV1), so the bench sees what a
    board's Chromium would be sent.
    """

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.sock = socket.socket()
        self.sock.setblocking(False)
        self.buffer = bytearray()
        self.state = "connecting"  # → http → open → ready
        self.acknowledged = self.snapshot = False
        self.inflater: Any = None
        self.began = time.monotonic()
        error = self.sock.connect_ex((host, port))
        if error not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise ConnectionError(errno.errorcode.get(error, error))

    def request(self) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            ).encode()
        )
        self.state = "http"

    def read(self, seen: dict[int, list[float]]) -> bool:
        """Reads what arrived and handles every complete frame; False when the connection is over."""
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        at = time.monotonic()
        if not data:
            return False
        self.buffer += data
        if self.state == "http" and not self._upgraded():
            return self.state != "failed"
        for payload in self._frames():
            if payload is None:
                return False
            self._packet(payload, at, seen)
        return self.state != "failed"

    def _upgraded(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).lower()
        del self.buffer[: end + 4]
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            self.state = "failed"
            return False
        if b"permessage-deflate" in head:
            self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self.state = "open"
        return True

    def _frames(self) -> list[bytes | None]:
        """Cuts the complete frames off the buffer: payloads of data frames, None for a close; answers pings."""
        frames: list[bytes | None] = []
        buffer, offset = self.buffer, 0
        while len(buffer) - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            length, header = second & 0x7F, 2
            if length >= 126:
                header = 4 if length == 126 else 10
                if len(buffer) - offset < header:
                    break
                length = int.from_bytes(buffer[offset + 2 : offset + header], "big")
            if len(buffer) - offset < header + length:
                break
            payload = bytes(buffer[offset + header : offset + header + length])
            offset += header + length
            opcode = first & 0x0F
            if opcode == 0x8:
                frames.append(None)
            elif opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode in (0x0, 0x1, 0x2):
                frames.append(self.inflater.decompress(payload + b"\x00\x00\xff\xff") if first & 0x40 else payload)
        del buffer[:offset]
        return frames

    def _packet(self, packet: bytes, at: float, seen: dict[int, list[float]]) -> None:
        if packet.startswith(CALLED):
            found = TICKET_ID.search(packet)  # cheaper than decoding the whole event, on a core the server needs
            seen[int(found[1]) if found else json.loads(packet[2:])[1]["ticket"]["id"]].append(at)
        elif packet == b"2":  # Engine.IO ping → pong
            self.send(b"3")
        elif self.state == "open":
            self._handshake(packet)

    def _handshake(self, packet: bytes) -> None:
        if packet.startswith(b"0"):  # Engine.IO open packet: 0{"sid":…}
            self.send(b"40" + json.dumps({"token": self.token}).encode())
        elif packet.startswith(b"44"):
            self.state = "failed"
        else:  # the server sends the snapshot from its connect handler, before "40"
            self.acknowledged = self.acknowledged or packet.startswith(b"40")
            self.snapshot = self.snapshot or packet.startswith(b'42["snapshot"')
            if self.acknowledged and self.snapshot:
                self.state = "ready"

    def send(self, text: bytes) -> None:
        self._send_frame(0x1, text)

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = bytes([0x80 | opcode, 0x80 | length])
        elif length < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", length)
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with contextlib.suppress(OSError):  # small control answers; a full buffer means the board is gone anyway
            self.sock.send(header + mask + masked)

    def close(self) -> None:
        self.sock.close()


class Crowd:
    """The load process's boards on one epoll: no event loop framework, a few microseconds a message.

    (asyncio streams cost ~20 µs a message: at 2,000 boards the two load processes used more CPU than the
    server they measured, on the same two cores.)
    """

    def __init__(self, url: str, token: str) -> None:
        host, port = url.split("//", 1)[1].split(":")
        self.host, self.port, self.token = host, int(port), token
        self.epoll = select.epoll()
        self.boards: dict[int, Board] = {}
        self.seen: dict[int, list[float]] = defaultdict(list)

    def connect(self, clients: int, parallel: int, connect_timeout: float, budget: float) -> int:
        """Opens `clients` boards, `parallel` handshakes at a time, within `budget` seconds; returns how many."""
        started, left, opening, ready = time.monotonic(), clients, 0, 0
        while (left or opening) and time.monotonic() - started < budget:
            while left and opening < parallel:
                left -= 1
                with contextlib.suppress(OSError):
                    self._add(Board(self.host, self.port, self.token))
                    opening += 1
            for fd, events in self.epoll.poll(0.1):
                board = self.boards[fd]
                if board.state == "ready":
                    self._read(board)
                    continue
                if board.state == "connecting":
                    self._request(board, events)
                elif self._read(board) and board.state == "ready":
                    ready, opening = ready + 1, opening - 1
                if board.sock.fileno() < 0:  # dropped during its handshake
                    opening -= 1
            opening -= self._drop_slow(connect_timeout)
        return ready

    def _add(self, board: Board) -> None:
        self.boards[board.sock.fileno()] = board
        self.epoll.register(board.sock.fileno(), select.EPOLLIN | select.EPOLLOUT)

    def _request(self, board: Board, events: int) -> None:
        if events & (select.EPOLLERR | select.EPOLLHUP):
            self._drop(board)
            return
        self.epoll.modify(board.sock.fileno(), select.EPOLLIN)
        try:
            board.request()
        except OSError:
            self._drop(board)

    def _read(self, board: Board) -> bool:
        if board.read(self.seen):
            return True
        self._drop(board)
        return False

    def _drop(self, board: Board) -> None:
        fd = board.sock.fileno()
        if fd >= 0:
            self.epoll.unregister(fd)
            del self.boards[fd]
        board.close()

    def _drop_slow(self, connect_timeout: float) -> int:
        now = time.monotonic()
        slow = [b for b in self.boards.values() if b.state != "ready" and now - b.began > connect_timeout]
        for board in slow:
            self._drop(board)
        return len(slow)

    def serve(self, connected: int) -> None:
        """Reads until STOP on stdin; each line (REPORT or STOP) is answered with one JSON line."""
        stdin = sys.stdin.fileno()
        self.epoll.register(stdin, select.EPOLLIN)
        pending = b""
        while True:
            for fd, _events in self.epoll.poll():
                board = self.boards.get(fd)
                if board is not None:
                    self._read(board)
                    continue
                chunk = os.read(stdin, 4096)
                pending += chunk
                while b"\n" in pending:
                    command, pending = pending.split(b"\n", 1)
                    self._report(connected)
                    if command.strip() != b"REPORT":
                        return
                if not chunk:
                    return

    def _report(self, connected: int) -> None:
        report = {
            "connected": connected,
            "rss_kib": rss_kib(os.getpid()),
            "seen": {str(k): [len(v), max(v), min(v)] for k, v in self.seen.items()},
        }
        print(json.dumps(report), flush=True)

    def close(self) -> None:
        for board in list(self.boards.values()):
            board.close()
        self.epoll.close()


def _load(url: str, token: str, clients: int, parallel: int, connect_timeout: float, budget: float) -> None:
    crowd = Crowd(url, token)
    started = time.monotonic()
    connected = crowd.connect(clients, parallel, connect_timeout, budget)  # whoever is not in by then is left out
    print(
        f"READY {connected} {clients - connected} {time.monotonic() - started:.2f} {rss_kib(os.getpid())}", flush=True
    )
    try:
        crowd.serve(connected)
    finally:
        crowd.close()


# ---------------------------------------------------------------- the driver


@dataclass
class FanoutResult:
    clients: int
    connected: int
    latencies_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)  # call → first client
    missing: int = 0  # deliveries that never arrived
    server_kib_per_client: float = float("nan")
    client_kib_per_client: float = float("nan")
    connect_seconds: float = 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


class LoadProcess:
    def __init__(self, url: str, clients: int, parallel: int, budget: float = 120) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.fanout",
                "--url",
                url,
                "--clients",
                str(clients),
                "--parallel",
                str(parallel),
                "--budget",
                str(budget),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ready: list[str] = []

    def wait_ready(self, timeout: float) -> tuple[int, float, int]:
        line = _readline(self.process, timeout)
        if not line.startswith("READY"):
            raise RuntimeError(f"load process: {line!r}")
        _, connected, _failed, seconds, rss = line.split()
        return int(connected), float(seconds), int(rss)

    def report(self, timeout: float = 30, stop: bool = False) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write("STOP\n" if stop else "REPORT\n")
        self.process.stdin.flush()
        report = json.loads(_readline(self.process, timeout))
        if stop:
            self.process.wait(timeout)
        return report

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _readline(process: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)  # type: ignore
    reader.start()
    reader.join(timeout)
    if not box:
        raise TimeoutError("load process did not answer in time")
    return box[0]


def prepare_calls(server: BenchServer, http: requests.Session, count: int) -> tuple[str, int]:
    """Issues `count` tickets for counter 1's agency and opens counter 1; returns (clerk token, counter id)."""
    for _ in range(count):
        response = http.post(
            f"{server.url}/api/v1/tickets",
            json={"service": "STP-LLTP"},
            headers={"Authorization": f"Bearer {KIOSK_TOKEN}"},
            timeout=30,
        )
        response.raise_for_status()
    token = server.clerk_token(http, 1)
    http.post(
        f"{server.url}/api/v1/counters/1/open", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).raise_for_status()
    return token, 1


def run(
    server: BenchServer,
    levels: tuple[int, ...],
    calls: int,
    per_process: int = 1000,
    settle: float = 0.5,
    connect_budget: float = 100,
    parallel: int = 25,
) -> list[FanoutResult]:
    """Grows the crowd level by level (100 → 500 → 2,000) and times `calls` calls at each level."""
    results: list[FanoutResult] = []
    http = requests.Session()
    token, counter = prepare_calls(server, http, calls * len(levels) + 1)
    headers = {"Authorization": f"Bearer {token}"}
    loads: list[LoadProcess] = []
    baseline = rss_kib(server.pid)
    connected_total = 0
    first_call = True
    try:
        for level in levels:
            missing = level - connected_total
            began = time.monotonic()
            new = []
            while missing > 0:
                size = min(per_process, missing)
                new.append(LoadProcess(server.url, size, parallel, connect_budget))
                missing -= size
            for load in new:
                connected, _seconds, _rss = load.wait_ready(connect_budget + 30)
                connected_total += connected
            loads.extend(new)
            result = FanoutResult(level, connected_total, connect_seconds=time.monotonic() - began)
            result.server_kib_per_client = (rss_kib(server.pid) - baseline) / max(connected_total, 1)
            started: dict[int, float] = {}
            for _ in range(calls):
                if not first_call:
                    http.post(f"{server.url}/api/v1/counters/{counter}/start", json={}, headers=headers, timeout=30)
                first_call = False
                began_call = time.monotonic()
                response = http.post(
                    f"{server.url}/api/v1/counters/{counter}/next", json={}, headers=headers, timeout=30
                )
                response.raise_for_status()
                started[response.json()["ticket"]["id"]] = began_call
                time.sleep(settle)  # let this call reach every client before the next one
            reports = [load.report() for load in loads]
            result.client_kib_per_client = _client_kib(reports)
            for ticket_id, began_call in started.items():
                counts = [r["seen"].get(str(ticket_id), [0, 0.0, 0.0]) for r in reports]
                received = sum(c[0] for c in counts)
                result.missing += max(0, connected_total - received)
                if received:
                    result.latencies_ms.append((max(c[1] for c in counts if c[0]) - began_call) * 1000)
                    result.first_ms.append((min(c[2] for c in counts if c[0]) - began_call) * 1000)
            results.append(result)
        for load in loads:
            load.report(stop=True)
    finally:
        for load in loads:
            load.kill()
        http.close()
    return results


def _client_kib(reports: list[dict]) -> float:
    connected = sum(r["connected"] for r in reports)
    # a bare asyncio interpreter is ~20 MiB: what is above it is the clients
    return sum(max(0, r["rss_kib"] - 20_000) for r in reports) / max(connected, 1)


def board_latency_during(
    server: BenchServer, work: callable, calls: int = 20, settle: float = 0.3
) -> tuple[list[float], float]:
    """Latencies of `calls` calls to one board while `work()` runs in a thread; returns (ms list, work s)."""
    http = requests.Session()
    token, counter = prepare_calls(server, http, calls + 1)
    headers = {"Authorization": f"Bearer {token}"}
    load = LoadProcess(server.url, 1, parallel=1)
    load.wait_ready(60)
    spent: list[float] = []

    def timed() -> None:
        began = time.monotonic()
        work()
        spent.append(time.monotonic() - began)

    worker = threading.Thread(target=timed, daemon=True)
    started: dict[int, float] = {}
    try:
        worker.start()
        for _ in range(calls):  # start whatever is called (409 when nothing is), so "next" may call again
            http.post(f"{server.url}/api/v1/counters/{counter}/start", json={}, headers=headers, timeout=60)
            began_call = time.monotonic()
            response = http.post(f"{server.url}/api/v1/counters/{counter}/next", json={}, headers=headers, timeout=60)
            response.raise_for_status()
            started[response.json()["ticket"]["id"]] = began_call
            time.sleep(settle)
            if not worker.is_alive():
                break
        worker.join(300)
        report = load.report(stop=True)
    finally:
        load.kill()
        http.close()
    latencies = [(report["seen"][str(t)][1] - began) * 1000 for t, began in started.items() if str(t) in report["seen"]]
    return latencies, spent[0] if spent else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description="A Socket.IO load process (used by python -m bench).")
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--token", default=BOARD_TOKEN)
    parser.add_argument("--parallel", type=int, default=50, help="connections being opened at once")
    parser.add_argument("--connect-timeout", type=float, default=60)
    parser.add_argument("--budget", type=float, default=120, help="seconds for connecting them all")
    args = parser.parse_args()
    if not args.url.startswith("http://127.0.0.1:"):
        raise SystemExit("the load process only talks to 127.0.0.1")
    with contextlib.suppress(BrokenPipeError):  # the driver gave up on us
        _load(args.url, args.token, args.clients, args.parallel, args.connect_timeout, args.budget)


if __name__ == "__main__":
    main()
