"""Kiosk printing benchmark: tap → ticket bytes at the printer, through a real server and a TCP "printer".

    .venv/bin/python -m bench.kiosk_print [--taps 200] [--async-mode eventlet]

Starts `luot serve` on a temporary instance (the small test world), points the kiosk at a TCP listener on
127.0.0.1 that answers status queries like a thermal printer, then measures:

* tap → number on screen: POST /api/v1/tickets until its response (what the kiosk waits for);
* tap → ticket at the printer: the same POST until the printer connection carrying the ticket closed;
* /healthz while a burst of kiosks take numbers, without and with printing;
* render time in this process: TicketPrint → 1-bit image → ESC/POS bytes, 80 mm and 58 mm;
* how long an eventlet hub goes unanswered while tickets render, on the hub itself vs. in eventlet.tpool
  (what server.printing.jobs does), measured in a child process patched by eventlet.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.db import Database  # noqa: E402
from server.printing.escpos_bytes import ticket_escpos_bytes  # noqa: E402
from server.printing.layout import load_builtin_layout  # noqa: E402
from server.printing.render_image import render_ticket_image  # noqa: E402
from server.printing.ticket_data import sample_ticket  # noqa: E402
from server.process import ServerProcess  # noqa: E402
from tests.integration.test_print_jobs import LOOPBACK_PRINTERS, PrinterListener, configure_kiosk  # noqa: E402
from tests.support.world import build_world  # noqa: E402

KIOSK = "kiosk-token-1"
TICKETS_PER_KIOSK = 15


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def row(name: str, values: list[float], unit: str = "ms") -> str:
    return (
        f"| {name:<48} | {len(values):>5} | {percentile(values, 0.5):>8.1f} | {percentile(values, 0.99):>8.1f} "
        f"| {max(values):>8.1f} | {unit} |"
    )


def timed(function: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def tap(http: requests.Session, url: str, service: str) -> tuple[float, float]:
    """POST a ticket; returns (start, response time) in perf_counter seconds."""
    start = time.perf_counter()
    response = http.post(
        f"{url}/api/v1/tickets", json={"service": service}, timeout=30, headers={"Authorization": f"Bearer {KIOSK}"}
    )
    response.raise_for_status()
    return start, time.perf_counter()


def burst(url: str, services: list[str], kiosks: int) -> list[float]:
    """/healthz latencies (ms) while `kiosks` kiosks each take TICKETS_PER_KIOSK numbers at once."""
    samples: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with requests.Session() as http:
            while not stop.is_set():
                start = time.perf_counter()
                http.get(f"{url}/healthz", timeout=30)
                samples.append((time.perf_counter() - start) * 1000)

    def kiosk(index: int) -> None:
        with requests.Session() as http:
            for _ in range(TICKETS_PER_KIOSK):
                tap(http, url, services[index % len(services)])

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(kiosks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    prober.join()
    return samples


def run(taps: int, async_mode: str, burst_kiosks: int) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory(prefix="luot-bench-") as folder, PrinterListener() as printer:
        server = ServerProcess(Path(folder) / "instance", async_mode=async_mode, env=LOOPBACK_PRINTERS)

        def populate(db):
            build_world(db)
            configure_kiosk(db, printer=printer.spec, layout="ticket_80mm")

        server.prepare(populate)
        server.start()
        try:
            http = requests.Session()
            services = ["TP-A", "CA-X"]
            for index in range(5):  # warm-up: fonts, layouts, connections
                tap(http, server.url, services[index % 2])
            printer.wait_for_tickets(5, timeout=60)

            on_screen, at_printer = [], []
            for index in range(taps):
                done = len(printer.tickets())
                start, answered = tap(http, server.url, services[index % 2])
                if len(printer.wait_for_tickets(done + 1, timeout=60)) <= done:
                    raise RuntimeError(f"ticket {index} never reached the printer:\n{server.log()}")
                with printer._changed:
                    closed = [t for job, t in zip(printer.jobs, printer.closed_at, strict=True) if b"\x1dv0" in job]
                on_screen.append((answered - start) * 1000)
                at_printer.append((closed[done] - start) * 1000)

            idle = timed(lambda: http.get(f"{server.url}/healthz", timeout=30), 50)
            db = Database(server.settings())
            try:
                configure_kiosk(db, printer="")  # the same burst without printing, for comparison
                unprinted = burst(server.url, services, burst_kiosks)
                configure_kiosk(db, printer=printer.spec)
                before = len(printer.tickets())
                printed = burst(server.url, services, burst_kiosks)
                printer.wait_for_tickets(before + TICKETS_PER_KIOSK * burst_kiosks, timeout=120)
            finally:
                db.dispose()
        finally:
            server.stop()

    for name in ("ticket_80mm", "ticket_58mm"):  # warm-up: imports, fonts, layouts
        ticket_escpos_bytes(render_ticket_image(sample_ticket(), load_builtin_layout(name)))
    renders = {
        name: timed(
            lambda n=name: ticket_escpos_bytes(render_ticket_image(sample_ticket(), load_builtin_layout(n))), 50
        )
        for name in ("ticket_80mm", "ticket_58mm")
    }
    lines.append(f"Kiosk printing, {async_mode}, {taps} sequential taps, Python {sys.version.split()[0]}")
    lines.append("")
    lines.append(f"| {'measure':<48} | {'n':>5} | {'p50':>8} | {'p99':>8} | {'max':>8} | unit |")
    lines.append(f"|{'-' * 50}|{'-' * 7}|{'-' * 10}|{'-' * 10}|{'-' * 10}|------|")
    lines.append(row("tap → number on screen (HTTP response)", on_screen))
    lines.append(row("tap → ticket bytes at the printer (conn closed)", at_printer))
    lines.append(row("/healthz, idle", idle))
    lines.append(row(f"/healthz, {burst_kiosks} kiosks × {TICKETS_PER_KIOSK} taps, no printer", unprinted))
    lines.append(row(f"/healthz, {burst_kiosks} kiosks × {TICKETS_PER_KIOSK} taps, printing", printed))
    for name, samples in renders.items():
        lines.append(row(f"render + ESC/POS, {name} (this process)", samples))
    return lines


def hub_gaps(renders: int = 30) -> None:
    """(Child process.) Print, per way of rendering, the gaps (ms) of a 1 ms ticker green thread."""
    import json
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
    from eventlet import tpool

    layout = load_builtin_layout("ticket_80mm")

    def render() -> bytes:
        return ticket_escpos_bytes(render_ticket_image(sample_ticket(), layout))

    render()
    gaps: list[float] = []
    running = True

    def ticker() -> None:
        while running:
            start = time.perf_counter()
            eventlet.sleep(0.001)
            gaps.append((time.perf_counter() - start) * 1000)

    eventlet.spawn(ticker)
    result = {}
    for way in ("on the hub", "in eventlet.tpool"):
        gaps.clear()
        for _ in range(renders):
            if way == "on the hub":
                render()
                eventlet.sleep(0)
            else:
                tpool.execute(render)
        result[way] = list(gaps)
    running = False
    print(json.dumps(result))


def hub_gap_rows() -> list[str]:
    import json

    child = subprocess.run(
        [sys.executable, "-m", "bench.kiosk_print", "--hub-gaps"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    gaps = json.loads(child.stdout.strip().splitlines()[-1])
    return [row(f"eventlet hub gap, rendering {way}", samples) for way, samples in gaps.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", type=int, default=200)
    parser.add_argument("--async-mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    parser.add_argument("--burst-kiosks", type=int, default=8)
    parser.add_argument("--hub-gaps", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hub_gaps:
        hub_gaps()
        return
    print("\n".join([*run(args.taps, args.async_mode, args.burst_kiosks), *hub_gap_rows()]))


if __name__ == "__main__":
    main()
