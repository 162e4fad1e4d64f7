"""Ticket issue rate and latency through the REST API: one kiosk in a loop, then N kiosks at once."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from bench import KIOSK_TOKEN, SERVICES, percentile
from bench.keepalive import KeepAlive


@dataclass
class IssueResult:
    clients: int
    tickets: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


def _kiosk(
    url: str, count: int, offset: int, latencies: list[float], errors: list[int], start: threading.Barrier | None = None
) -> None:
    headers = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    with KeepAlive() as http:
        http.get(f"{url}/healthz", timeout=10)  # open the keep-alive connection before the clock starts
        if start is not None:
            start.wait(30)
        for index in range(count):
            service = SERVICES[(offset + index) % len(SERVICES)]
            began = time.perf_counter()
            response = http.post(f"{url}/api/v1/tickets", json={"service": service}, headers=headers, timeout=30)
            latencies.append((time.perf_counter() - began) * 1000)
            if response.status_code != 201:
                errors.append(response.status_code)


def run(url: str, clients: int, tickets: int, warmup: int = 20) -> IssueResult:
    """`tickets` tickets in all, spread over `clients` keep-alive sessions running at once."""
    if warmup:
        _kiosk(url, warmup, 7, [], [])
    latencies: list[float] = []
    errors: list[int] = []
    per_client = max(1, tickets // clients)
    barrier = threading.Barrier(clients + 1)
    threads = [
        threading.Thread(target=_kiosk, args=(url, per_client, i * 3, latencies, errors, barrier))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    barrier.wait(30)
    began = time.perf_counter()
    for thread in threads:
        thread.join(300)
    elapsed = time.perf_counter() - began
    return IssueResult(clients, per_client * clients - len(errors), len(errors), elapsed, latencies)
