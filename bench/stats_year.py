"""Statistics on a synthetic year: 101 sites, 365 days ending Friday 20/11/2026 (generated once, cached).

    .venv/bin/python bench/stats_year.py            # generate if needed, then time the manager pages
    LUOT_BENCH_DIR=/somewhere .venv/bin/python bench/stats_year.py --fresh

Times (median of 5, through the real Flask routes with a province-level manager signed in):
the live province summary (/dashboard/api/province), the live centre figures (/dashboard/api/live),
the province history page with its charts (/dashboard/history: by default the last 30 finished days; also
30 days including today, computed live from the log), site pages with the Erlang table, CSV and PDF, and
/healthz answered by a real eventlet server while a year-long PDF report is built (the work runs off the hub).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.clock import LOCAL_TZ, ManualClock

LAST_DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=LOCAL_TZ)
DAYS = 365
PASSWORD = "bench-manager-pass"


def instance_dir() -> Path:
    return Path(os.environ.get("LUOT_BENCH_DIR", Path(tempfile.gettempdir()) / "luot-bench-stats-year"))


def settings_for(folder: Path):
    from server.settings import load_settings

    return load_settings(
        environ={},
        instance_dir=str(folder),
        async_mode="threading",
        log_level="WARNING",
        secret_key="bench-secret",
        sqlite_synchronous="NORMAL",
    )


def build(folder: Path) -> None:
    from sqlmodel import Session

    from server.db import Database
    from server.instance import initialise
    from server.provisioning import create_user
    from server.stats.generator import generate

    if folder.exists():
        shutil.rmtree(folder)
    settings = settings_for(folder)
    initialise(settings)
    db = Database(settings)
    started = time.perf_counter()
    with Session(db.engine) as session:
        totals = generate(
            session,
            LAST_DAY - timedelta(days=DAYS - 1),
            LAST_DAY,
            now=NOW,
            progress=lambda day, n: print(f"  {day}: {n} tickets", flush=True) if day.day == 1 else None,
        )
    with db.write() as session:
        create_user(session, "bench-manager", PASSWORD, "manager", None, "Lãnh đạo tỉnh")
    db.dispose()
    (folder / "READY").write_text(f"{totals}\n")
    print(
        f"generated {totals['tickets']:,} tickets, {totals['events']:,} events in "
        f"{time.perf_counter() - started:.0f} s; {(folder / 'luot.sqlite3').stat().st_size / 2**20:.0f} MiB"
    )


def timed(call, runs: int = 5) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", action="store_true", help="generate the year again")
    args = parser.parse_args()
    folder = instance_dir()
    if args.fresh or not (folder / "READY").exists():
        print(f"generating the synthetic year into {folder} (once) …", flush=True)
        build(folder)
    from server.app import create_app

    app = create_app(settings_for(folder), clock=ManualClock(NOW))
    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"username": "bench-manager", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
    first = (LAST_DAY - timedelta(days=29)).isoformat()
    history = f"/dashboard/history?from={first}&to={LAST_DAY.isoformat()}"  # 30 days including today (live)

    def get(url: str) -> None:
        reply = client.get(url, headers=headers)
        assert reply.status_code == 200, (url, reply.status_code, reply.get_data(as_text=True)[:300])

    rows = [
        ("live province summary (101 sites, today)", "/dashboard/api/province"),
        ("live centre figures (today)", "/dashboard/api/live?site=1"),
        ("history page, province, last 30 full days", "/dashboard/history"),
        ("history page, province, 30 days incl. today", history),
        ("history page, centre by service, 30 days", history + "&site=1&by=service"),
        ("history page, branch by counter, 30 days", history + "&site=2&by=counter"),
        ("history page, centre by clerk, 30 days", history + "&site=1&by=clerk"),
        ("CSV export, province, 30 days", history.replace("/history", "/export.csv")),
        ("PDF report, province, 30 days", history.replace("/history", "/export.pdf")),
        (
            "history page, province, 365 days",
            f"/dashboard/history?from={(LAST_DAY - timedelta(days=364))}&to={LAST_DAY}",
        ),
    ]
    get(rows[0][1])  # warm-up: templates, fonts
    print(f"\n{'what':<44} {'median':>9} {'max':>9}")
    print("-" * 64)
    for label, url in rows:
        median, worst = timed(lambda url=url: get(url))
        print(f"{label:<44} {median * 1000:>7.0f} ms {worst * 1000:>6.0f} ms")
    print()
    hub_check(folder)


def hub_check(folder: Path) -> None:
    """A real `luot serve` (eventlet) on the year: /healthz latency while a year-long PDF report is built."""
    import threading

    import requests

    from server.process import ServerProcess

    server = ServerProcess(folder, env={"LUOT_SECRET_KEY": "bench-secret", "LUOT_SQLITE_SYNCHRONOUS": "NORMAL"})
    server.start(timeout=60)
    try:
        token = requests.post(
            f"{server.url}/api/v1/auth/token", timeout=30, json={"username": "bench-manager", "password": PASSWORD}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{server.url}/dashboard/export.pdf?from={LAST_DAY - timedelta(days=364)}&to={LAST_DAY}&by=day"
        requests.get(f"{server.url}/dashboard/history?from={LAST_DAY}&to={LAST_DAY}", headers=headers, timeout=120)
        done: dict[str, float] = {}

        def build_pdf() -> None:
            started = time.perf_counter()
            reply = requests.get(url, headers=headers, timeout=300)
            done["pdf"] = time.perf_counter() - started
            done["size"] = len(reply.content)

        worker = threading.Thread(target=build_pdf)
        worker.start()
        latencies = []
        for _ in range(2000):  # bounded: at most 2000 probes
            if not worker.is_alive():
                break
            started = time.perf_counter()
            requests.get(f"{server.url}/healthz", timeout=30)
            latencies.append(time.perf_counter() - started)
        worker.join()
        print(
            f"eventlet server: 365-day PDF ({done['size'] // 1024} KiB) built in {done['pdf']:.2f} s; "
            f"/healthz meanwhile answered {len(latencies)} times, median "
            f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
