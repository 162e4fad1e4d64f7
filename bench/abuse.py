"""/healthz while one client sends wrong passwords and another floods `snapshot.request` (issue 14).

A real `luot serve` on the demo province: first /healthz alone (the idle figure), then the same probe while

* an attacker's HTTP client posts wrong passwords to /api/v1/auth/token back to back (a new username each
  time, as a password sprayer would), and
* a phone's Socket.IO client (the tracking token of a real ticket) emits `snapshot.request` as fast as it can.

The probe is sequential (one request at a time, 20 ms apart), `samples` requests each phase. Reported: p50 /
p99 of each phase, the sign-in answers (401 = hash checked, 429 = throttled) and the snapshots the flood got.
`throttle=False` sets LUOT_LOGIN_MAX_FAILURES very high so every wrong password is really hashed: it shows
what the hash pool alone does for the hub.

Run: .venv/bin/python -m bench.abuse [--samples 300] [--mode eventlet]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench import KIOSK_TOKEN, SERVICES, BenchServer, percentile  # noqa: E402
from tests.support.ordered_client import OrderedClient  # noqa: E402

PROBE_GAP = 0.02  # seconds between two /healthz probes
TARGET_MS = 50.0  # p99 under attack within this of the idle p99


@dataclass
class AbuseResult:
    idle_ms: list[float]
    attacked_ms: list[float]
    sign_ins: Counter = field(default_factory=Counter)
    snapshots: int = 0
    requests_sent: int = 0

    @property
    def idle_p99(self) -> float:
        return percentile(self.idle_ms, 99)

    @property
    def attacked_p99(self) -> float:
        return percentile(self.attacked_ms, 99)

    @property
    def met(self) -> bool:
        return self.attacked_p99 <= self.idle_p99 + TARGET_MS

    def text(self) -> str:
        answers = ", ".join(f"{count}×{status}" for status, count in sorted(self.sign_ins.items()))
        return (
            f"idle p50 {percentile(self.idle_ms, 50):.1f} / p99 {self.idle_p99:.1f} ms; attacked p50 "
            f"{percentile(self.attacked_ms, 50):.1f} / p99 {self.attacked_p99:.1f} ms; sign-ins {answers}; "
            f"{self.requests_sent} snapshot requests queued by the flooder → {self.snapshots} snapshots"
        )


def probe(url: str, samples: int) -> list[float]:
    http = requests.Session()
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        http.get(f"{url}/healthz", timeout=30).raise_for_status()
        times.append((time.perf_counter() - began) * 1000)
        time.sleep(PROBE_GAP)  # a steady probe rate, not a synchronisation
    return times


def _spray(url: str, stop: Any, answers: Any) -> None:
    """Wrong passwords back to back, a new username each time (a password sprayer); reports the answers."""
    http = requests.Session()
    seen: Counter = Counter()
    for n in itertools.count():
        if stop.is_set():
            break
        try:
            answer = http.post(
                f"{url}/api/v1/auth/token",
                json={"username": f"clerk{n % 500:02d}", "password": f"wrong-{n}"},
                timeout=30,
            )
        except requests.RequestException:
            seen["error"] += 1
            continue
        seen[answer.status_code] += 1
    answers.put(seen)


def _flood(url: str, tracking: str, stop: Any, counts: Any) -> None:
    """A phone emitting `snapshot.request` as fast as it can; counts[0] requests queued, counts[1] snapshots."""
    threading.excepthook = lambda args: None  # its writer times out once the server stops reading it
    phone = OrderedClient(reconnection=False)

    @phone.on("snapshot")
    def _snapshot(_data: object) -> None:
        counts[1] += 1

    phone.connect(url, auth={"tracking_token": tracking}, transports=["websocket"], wait_timeout=10)
    while not stop.is_set() and phone.connected:
        try:
            phone.emit("snapshot.request")
        except Exception:
            break
        counts[0] += 1
        if counts[0] % 200 == 0:
            time.sleep(0.001)  # let the client's own writer run; still thousands a second
    with contextlib.suppress(Exception):
        phone.disconnect()


def run(workdir: Path, mode: str = "eventlet", samples: int = 300, throttle: bool = True) -> AbuseResult:
    env = {} if throttle else {"LUOT_LOGIN_MAX_FAILURES": "100000000"}
    server = BenchServer(workdir / f"abuse-{mode}-{'throttled' if throttle else 'unthrottled'}", mode, **env)
    server.workdir.mkdir(parents=True)
    server.seed_demo()
    server.start()
    try:
        probe(server.url, 30)  # warm up
        idle = probe(server.url, samples)
        ticket = requests.post(
            f"{server.url}/api/v1/tickets",
            json={"service": SERVICES[0]},
            headers={"Authorization": f"Bearer {KIOSK_TOKEN}"},
            timeout=10,
        )
        ticket.raise_for_status()
        tracking = ticket.json()["tracking_token"]
        result = AbuseResult(idle, [])
        # The attackers run in their own processes: in this one they would take the probe's GIL and the
        # figures would measure the load generator, not the server.
        context = multiprocessing.get_context("spawn")
        stop, answers, counts = context.Event(), context.Queue(), context.Array("l", 2)
        attackers = [
            context.Process(target=_spray, args=(server.url, stop, answers), daemon=True),
            context.Process(target=_flood, args=(server.url, tracking, stop, counts), daemon=True),
        ]
        for process in attackers:
            process.start()
        deadline = time.monotonic() + 30
        while counts[0] < 1000 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the flood is under way
        result.attacked_ms = probe(server.url, samples)
        stop.set()
        with contextlib.suppress(Exception):  # read before joining: a child with queued data would not exit
            result.sign_ins.update(answers.get(timeout=60))
        for process in attackers:
            process.join(30)
            if process.is_alive():
                process.kill()
        result.requests_sent, result.snapshots = counts[0], counts[1]
        return result
    finally:
        server.stop()


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.abuse", description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--mode", default="eventlet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="luot-bench-") as folder:
        for throttle in (True, False):
            result = run(Path(folder), args.mode, args.samples, throttle)
            label = "throttled sign-ins" if throttle else "every wrong password hashed"
            print(f"{args.mode}, {label}: {result.text()} — within {TARGET_MS:.0f} ms: {result.met}")


if __name__ == "__main__":
    main()
