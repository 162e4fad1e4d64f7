"""Call → board latency with 50 boards connected: 49 python-socketio boards and one real Chromium board.

Starts a real `luot serve` (eventlet by default) on the small test site in a temporary folder, connects the
boards, then makes calls through the REST API (start + next at two counters, in turn) and measures, from the
moment the `next` request is sent:

* when each python-socketio board receives `ticket.called`;
* when the Chromium board draws the number (MutationObserver on the newest-call panel);
* when the call's announcement audio is ready: fetched by the Chromium board (Resource Timing), and fetched
  by a python client as soon as it hears the call (espeak-ng renders it in the background meanwhile).

Run: .venv/bin/python -m bench.board_latency [--calls 40] [--boards 50] [--interval 0.25] [--async-mode eventlet]
(`npm run build` first: the Chromium board needs display/static/build/board.js.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from server.process import ServerProcess  # noqa: E402
from tests.support.ordered_client import OrderedClient  # noqa: E402
from tests.support.world import PASSWORD, World, build_world  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]

# Records, in the Chromium board, when each new call is drawn (wall-clock ms, comparable with time.time()).
WATCH_LATEST = """
() => {
  window.__benchDrawn = [];
  const latest = document.getElementById("latest");
  new MutationObserver(() => {
    const number = latest.querySelector(".fill-number");
    if (number) window.__benchDrawn.push({ number: number.textContent, call_id: latest.dataset.callId,
                                           at: Date.now() });
  }).observe(latest, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-call-id"] });
}
"""
AUDIO_TIMINGS = """
() => performance.getEntriesByType("resource")
  .filter((e) => e.name.includes("/display/audio/"))
  .map((e) => ({ url: e.name, at: performance.timeOrigin + e.responseEnd }))
"""


class SocketBoards:
    """N python-socketio clients authenticated as the board; each records when it hears each call."""

    def __init__(self, url: str, token: str, count: int) -> None:
        self.url = url
        self.heard: dict[str, list[float]] = defaultdict(list)  # display number → receive times
        self.audio_ready: dict[str, float] = {}  # display number → audio fetched (first client only)
        self.audio_status: dict[str, int] = {}
        self.with_audio = False
        self._lock = threading.Lock()
        self._snapshots = threading.Semaphore(0)
        self.clients: list[OrderedClient] = []
        for index in range(count):
            client = OrderedClient(reconnection=False)
            client.on("snapshot", self._on_snapshot)
            client.on("ticket.called", self._listener(index == 0))
            client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
            self.clients.append(client)
        for _ in range(count):
            if not self._snapshots.acquire(timeout=30):
                raise TimeoutError("a board got no snapshot")

    def _on_snapshot(self, payload: dict[str, Any]) -> None:
        self._snapshots.release()

    def _listener(self, fetch_audio: bool):
        def on_called(payload: dict[str, Any]) -> None:
            at = time.time()
            number = payload["display_number"]
            with self._lock:
                self.heard[number].append(at)
            if payload.get("audio_url"):
                self.with_audio = True
            if fetch_audio and payload.get("audio_url"):
                threading.Thread(target=self._fetch, args=(number, payload["audio_url"]), daemon=True).start()

        return on_called

    def _fetch(self, number: str, path: str) -> None:
        response = requests.get(f"{self.url}{path}", timeout=30)
        with self._lock:
            self.audio_ready[number] = time.time()
            self.audio_status[number] = response.status_code

    def heard_by_all(self, numbers: list[str]) -> bool:
        with self._lock:
            return all(len(self.heard.get(n, [])) == len(self.clients) for n in numbers) and (
                not self.with_audio or all(n in self.audio_ready for n in numbers)
            )

    def close(self) -> None:
        for client in self.clients:
            client.disconnect()


class Clerks:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.tokens: dict[str, str] = {}

    def post(self, path: str, token: str, body: dict[str, Any] | None = None) -> requests.Response:
        return self.http.post(
            f"{self.url}/api/v1{path}", json=body or {}, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    def login(self, username: str) -> str:
        response = self.http.post(
            f"{self.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=30
        )
        response.raise_for_status()
        self.tokens[username] = response.json()["token"]
        return self.tokens[username]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def table(rows: list[tuple[str, list[float]]]) -> str:
    lines = [f"{'measure':<52} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}", "-" * 85]
    for label, values in rows:
        if not values:
            lines.append(f"{label:<52} {0:>5} {'-':>8} {'-':>8} {'-':>8}")
            continue
        ms = [v * 1000 for v in values]
        lines.append(
            f"{label:<52} {len(ms):>5} {statistics.median(ms):>8.1f} {percentile(ms, 0.99):>8.1f} {max(ms):>8.1f}"
        )
    return "\n".join(lines)


def run(calls: int, boards: int, interval: float, async_mode: str, espeak: str = "espeak-ng") -> str:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="luot-bench-") as tmp:
        server = ServerProcess(Path(tmp) / "instance", async_mode=async_mode, env={"LUOT_ESPEAK_PATH": espeak})
        world: World = server.prepare(build_world)  # type: ignore[assignment]
        server.start()
        sockets = None
        try:
            clerks = Clerks(server.url)
            kiosk = world.kiosk_token
            for _ in range(calls):
                clerks.post("/tickets", kiosk, {"service": "TP-A"}).raise_for_status()
            counters = [("clerk1", world.counters["c1"]), ("clerk2", world.counters["c2"])]
            for username, counter_id in counters:
                clerks.post(f"/counters/{counter_id}/open", clerks.login(username)).raise_for_status()

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
                page.goto(f"{server.url}/display/?token={world.board_token}")
                page.wait_for_function("window.__luotBoard && window.__luotBoard.snapshots > 0")
                page.evaluate(WATCH_LATEST)
                sockets = SocketBoards(server.url, world.board_token, boards - 1)

                sent: dict[str, float] = {}
                answered: dict[str, float] = {}
                busy: set[int] = set()
                for index in range(calls):
                    username, counter_id = counters[index % len(counters)]
                    token = clerks.tokens[username]
                    if counter_id in busy:  # the citizen being called comes: start, so `next` may finish them
                        clerks.post(f"/counters/{counter_id}/start", token).raise_for_status()
                    started = time.time()
                    response = clerks.post(f"/counters/{counter_id}/next", token)
                    response.raise_for_status()
                    number = response.json()["ticket"]["display_number"]
                    sent[number] = started
                    answered[number] = time.time()
                    busy.add(counter_id)
                    time.sleep(interval)  # pacing the load generator, not synchronising a test

                numbers = list(sent)
                page.wait_for_function(
                    "n => window.__benchDrawn.map(d => d.number).filter((v, i, a) => a.indexOf(v) === i).length >= n",
                    arg=len(numbers),
                    timeout=60_000,
                )
                deadline = time.monotonic() + 60
                while not sockets.heard_by_all(numbers) and time.monotonic() < deadline:
                    time.sleep(0.05)  # polling the collected results, bounded by the deadline
                page.wait_for_function(
                    "n => !window.__luotAudioLog.every(e => e.via === 'audio') || "
                    "performance.getEntriesByType('resource')"
                    ".filter(e => e.name.includes('/display/audio/')).length >= n",
                    arg=len(numbers),
                    timeout=60_000,
                )
                drawn: dict[str, float] = {}
                call_ids: dict[str, str] = {}
                for entry in page.evaluate("window.__benchDrawn"):
                    drawn.setdefault(entry["number"], entry["at"] / 1000)
                    call_ids.setdefault(entry["number"], entry["call_id"])
                audio_by_call = {e["url"].rsplit("/", 1)[-1][:-4]: e["at"] / 1000 for e in page.evaluate(AUDIO_TIMINGS)}
                played = page.evaluate("window.__luotAudioLog.length")
                browser.close()

            rows = [
                ("call → the clerk's `next` request answered", [answered[n] - sent[n] for n in numbers]),
                (
                    f"call → {boards - 1} socket.io boards hear ticket.called",
                    [t - sent[n] for n in numbers for t in sockets.heard.get(n, [])],
                ),
                ("call → Chromium board draws the number", [drawn[n] - sent[n] for n in numbers if n in drawn]),
                (
                    "call → audio fetched by the Chromium board",
                    [
                        audio_by_call[call_ids[n]] - sent[n]
                        for n in numbers
                        if n in call_ids and call_ids[n] in audio_by_call
                    ],
                ),
                (
                    "call → audio fetched by a client on hearing the call",
                    [sockets.audio_ready[n] - sent[n] for n in numbers if n in sockets.audio_ready],
                ),
            ]
            failed = sorted(n for n, status in sockets.audio_status.items() if status != 200)
            header = (
                f"{calls} calls every {interval:.2f} s, {boards} boards ({boards - 1} python-socketio + "
                f"1 Chromium), server async mode {async_mode}; Chromium played {played} announcements "
                f"meanwhile (one at a time); audio errors: {failed or 'none'}"
            )
            return header + "\n\n" + table(rows)
        finally:
            if sockets is not None:
                sockets.close()
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--boards", type=int, default=50, help="boards in all, one of them Chromium")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between calls")
    parser.add_argument("--async-mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    parser.add_argument("--espeak", default="espeak-ng", help="espeak-ng program (a missing one: no audio)")
    args = parser.parse_args(argv)
    print(run(args.calls, args.boards, args.interval, args.async_mode, args.espeak))


if __name__ == "__main__":
    main()
