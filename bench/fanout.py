"""Call → last board latency with many connected Socket.IO clients, and memory per client.

The clients live in separate load processes (`python -m bench.fanout --url … --clients N`): asyncio,
websocket transport only, speaking Engine.IO 4 / Socket.IO 5 directly over one asyncio stream each
(python-socketio's AsyncClient needs aiohttp, which Lượt does not ship, and costs far more per client on
a 2-core box). Each load process prints READY, records when each client receives each `ticket.called`
(CLOCK_MONOTONIC is shared by processes), and on STOP prints what it saw as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import struct
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import requests

from bench import BOARD_TOKEN, KIOSK_TOKEN, ROOT, BenchServer, percentile, rss_kib

CALLED = b'42["ticket.called",'

# ---------------------------------------------------------------- the load process


class Board:
    """One Socket.IO client over a raw websocket (client frames masked, as the protocol requires)."""

    def __init__(self, host: str, port: int, token: str, seen: dict[int, list[float]]) -> None:
        self.host, self.port, self.token, self.seen = host, port, token, seen
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.writer = writer
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head[:80])
        opened = await self._frame(reader)  # Engine.IO open packet: 0{"sid":…}
        if not opened.startswith(b"0"):
            raise ConnectionError(opened[:80])
        self.send(b"40" + json.dumps({"token": self.token}).encode())
        acknowledged = snapshot = False  # the server sends the snapshot from its connect handler, before "40"
        while not (acknowledged and snapshot):
            packet = await self._frame(reader)
            if packet.startswith(b"44"):
                raise ConnectionError(packet[:80])
            acknowledged = acknowledged or packet.startswith(b"40")
            snapshot = snapshot or packet.startswith(b'42["snapshot"')
        self.reader = reader

    async def listen(self) -> None:
        reader = self.reader
        try:
            while True:
                packet = await self._frame(reader)
                if packet.startswith(CALLED):
                    at = time.monotonic()
                    ticket_id = json.loads(packet[2:])[1]["ticket"]["id"]
                    self.seen[ticket_id].append(at)
                elif packet == b"2":  # Engine.IO ping → pong
                    self.send(b"3")
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return

    async def _frame(self, reader: asyncio.StreamReader) -> bytes:
        while True:
            first, second = await reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await reader.readexactly(8))
            payload = await reader.readexactly(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("closed by the server")
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode in (0x1, 0x2, 0x0):
                return payload

    def send(self, text: bytes) -> None:
        self._send_frame(0x1, text)

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.writer is not None
        self.writer.write(header + mask + masked)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _load(url: str, token: str, clients: int, parallel: int, connect_timeout: float, budget: float) -> None:
    host, port = url.split("//", 1)[1].split(":")
    seen: dict[int, list[float]] = defaultdict(list)
    boards = [Board(host, int(port), token, seen) for _ in range(clients)]
    gate = asyncio.Semaphore(parallel)

    listeners: list[asyncio.Task] = []

    async def connect(board: Board) -> bool:
        async with gate:
            try:
                await asyncio.wait_for(board.connect(), connect_timeout)
            except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError):
                board.close()
                return False
        listeners.append(asyncio.create_task(board.listen()))  # at once: the server's pings need answers
        return True

    started = time.monotonic()
    tasks = [asyncio.create_task(connect(board)) for board in boards]
    done, pending = await asyncio.wait(tasks, timeout=budget)  # whoever is not in by then is left out
    for task in pending:
        task.cancel()
    connected = [board for board, task in zip(boards, tasks, strict=True)
                 if task in done and not task.cancelled() and task.result()]
    failures = clients - len(connected)
    loop = asyncio.get_running_loop()
    print(f"READY {len(connected)} {failures} {time.monotonic() - started:.2f} {rss_kib(os.getpid())}", flush=True)
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        report = {"connected": len(connected), "rss_kib": rss_kib(os.getpid()),
                  "seen": {str(k): [len(v), max(v), min(v)] for k, v in seen.items()}}
        print(json.dumps(report), flush=True)
        if command != "REPORT":
            break
    for board in connected:
        board.close()
    for task in listeners:
        task.cancel()


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
            [sys.executable, "-m", "bench.fanout", "--url", url, "--clients", str(clients),
             "--parallel", str(parallel), "--budget", str(budget)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
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
        response = http.post(f"{server.url}/api/v1/tickets", json={"service": "STP-LLTP"},
                             headers={"Authorization": f"Bearer {KIOSK_TOKEN}"}, timeout=30)
        response.raise_for_status()
    token = server.clerk_token(http, 1)
    http.post(f"{server.url}/api/v1/counters/1/open", json={}, headers={"Authorization": f"Bearer {token}"},
              timeout=30).raise_for_status()
    return token, 1


def run(server: BenchServer, levels: tuple[int, ...], calls: int, per_process: int = 1000,
        settle: float = 0.5, connect_budget: float = 100, parallel: int = 25) -> list[FanoutResult]:
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
                response = http.post(f"{server.url}/api/v1/counters/{counter}/next", json={}, headers=headers,
                                     timeout=30)
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


def board_latency_during(server: BenchServer, work: callable, calls: int = 20, settle: float = 0.3
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
    latencies = [(report["seen"][str(t)][1] - began) * 1000 for t, began in started.items()
                 if str(t) in report["seen"]]
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
        asyncio.run(_load(args.url, args.token, args.clients, args.parallel, args.connect_timeout, args.budget))


if __name__ == "__main__":
    main()
