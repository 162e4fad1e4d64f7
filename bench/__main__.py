"""`python -m bench` (`make bench`): one table of what a real `luot serve` process does on this machine.

First, once, the floors under those figures (bench/floors.py: eventlet's WSGI server, Flask, an SQLite
commit, the issue use case without HTTP). Then for each async mode: ticket issue rate and latency (1 and
16 keep-alive clients), call → last board latency with 100 / 500 / 2,000 connected Socket.IO clients,
memory per client, board latency while a year-long PDF report is built, and /healthz while one client sprays
wrong passwords and a phone floods snapshot requests (bench/abuse.py). Everything runs on 127.0.0.1,
on SQLite in a temp folder, bounded in count and time. `--quick` runs a small version in about a minute;
`--modes eventlet` picks modes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import ROOT, BenchServer, abuse, clerks, fanout, floors, issue_rate, live_stats, machine, percentile

MODES = ("eventlet", "gevent", "threading")
TARGETS = {"issue_rate": 800.0, "issue_p99": 5.0, "fanout_p99": 150.0, "report_p99": 100.0}
SYNTHETIC_PASSWORD = "synthetic-pass"  # server.stats.generator.create_province's default


@dataclass
class Row:
    mode: str
    what: str
    value: str
    target: str = ""
    met: str = ""


def _met(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "NO")


def bench_issue(rows: list[Row], workdir: Path, mode: str, sequential: int, concurrent: int) -> None:
    server = BenchServer(workdir / f"issue-{mode}", mode)
    server.seed_demo()
    server.start()
    try:
        one = issue_rate.run(server.url, 1, sequential)
        rows.append(
            Row(
                mode,
                "issue, 1 client",
                f"{one.rate:.0f}/s, p50 {one.p50:.1f} ms, p99 {one.p99:.1f} ms"
                + (f", {one.errors} errors" if one.errors else ""),
                "≥ 300/s (issue 13); ≥ 800/s, p99 ≤ 5 ms",
                f"{_met(one.rate >= 300)}; "
                + _met(one.rate >= TARGETS["issue_rate"] and one.p99 <= TARGETS["issue_p99"]),
            )
        )
        many = issue_rate.run(server.url, 16, concurrent, warmup=0)
        rows.append(
            Row(
                mode,
                "issue, 16 clients",
                f"{many.rate:.0f}/s, p50 {many.p50:.1f} ms, p99 {many.p99:.1f} ms"
                + (f", {many.errors} errors" if many.errors else ""),
            )
        )
    finally:
        server.stop()


def bench_fanout(rows: list[Row], workdir: Path, mode: str, levels: tuple[int, ...], calls: int) -> None:
    server = BenchServer(workdir / f"fanout-{mode}", mode)
    server.seed_demo()
    server.start()
    try:
        results = fanout.run(server, levels, calls)
    finally:
        server.stop()
    for result in results:
        ok = result.p99 <= TARGETS["fanout_p99"] if result.clients >= 2000 else None
        lost = f", {result.missing} not delivered" if result.missing else ""
        short = f" (only {result.connected} connected)" if result.connected < result.clients else ""
        rows.append(
            Row(
                mode,
                f"call → last of {result.clients} clients{short}",
                f"p50 {result.p50:.0f} ms, p99 {result.p99:.0f} ms (first client p50 "
                f"{percentile(result.first_ms, 50):.0f} ms){lost}; connect {result.connect_seconds:.0f} s",
                "p99 ≤ 150 ms at 2,000" if result.clients >= 2000 else "",
                _met(ok),
            )
        )
    last = results[-1]
    rows.append(
        Row(
            mode,
            f"memory per client ({last.connected} clients)",
            f"server {last.server_kib_per_client:.0f} KiB, load process {last.client_kib_per_client:.0f} KiB",
        )
    )


def year_instance(workdir: Path, volume: float) -> Path | str:
    """A SQLite instance with a synthetic year (`luot stats generate-year`), or why there is none."""
    instance = workdir / "year" / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
    env["LUOT_INSTANCE_DIR"] = str(instance)
    help_text = subprocess.run(
        [sys.executable, "-m", "server.cli", "stats", "--help"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if "generate-year" not in help_text.stdout:
        return "n/a (no `luot stats generate-year` yet)"
    subprocess.run(
        [sys.executable, "-m", "server.cli", "init"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
    )
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "stats",
            "generate-year",
            "--days",
            "365",
            "--sites",
            "1",
            "--volume",
            str(volume),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if made.returncode != 0:
        return f"n/a (generate-year failed: {made.stderr.strip().splitlines()[-1:]})"
    from server.db import Database
    from server.models import Site
    from server.provisioning import create_device
    from server.settings import load_settings

    db = Database(load_settings(environ=env))
    with db.write() as session:
        site = session.get(Site, 1)
        assert site is not None
        create_device(session, site, "board", "Bench board", "demo-board-hall")
        create_device(session, site, "kiosk", "Bench kiosk", "demo-kiosk-1")
    db.dispose()
    return instance


def bench_report(rows: list[Row], workdir: Path, mode: str, year: Path | str) -> None:
    if isinstance(year, str):
        rows.append(Row(mode, "board latency during a year-long PDF report", year, "p99 ≤ 100 ms"))
        return
    server = BenchServer(workdir / f"report-{mode}", mode)
    shutil.copytree(year, server.workdir / "instance")
    server.start()
    try:
        http = requests.Session()
        probe = http.get(f"{server.url}/dashboard/export.pdf", timeout=30, allow_redirects=False)
        if probe.status_code == 404:
            rows.append(
                Row(mode, "board latency during a year-long PDF report", "n/a (no report endpoint yet)", "p99 ≤ 100 ms")
            )
            return
        login = http.post(
            f"{server.url}/api/v1/auth/token",
            timeout=30,
            json={"username": "tt-manager", "password": SYNTHETIC_PASSWORD},
        )
        login.raise_for_status()
        manager = {"Authorization": f"Bearer {login.json()['token']}"}
        today = requests.get(f"{server.url}/healthz", timeout=10).json()["time"][:10]
        first = f"{int(today[:4]) - 1}{today[4:]}"
        sizes: list[int] = []

        def report() -> None:  # reports back to back for at least 5 s, so enough calls overlap one
            began = time.monotonic()
            while not sizes or time.monotonic() - began < 5:
                response = http.get(
                    f"{server.url}/dashboard/export.pdf",
                    params={"from": first, "to": today},
                    headers=manager,
                    timeout=600,
                )
                response.raise_for_status()
                sizes.append(len(response.content))

        server.clerk_name, server.clerk_password = "tt-clerk{:02d}", SYNTHETIC_PASSWORD
        quiet, _ = fanout.board_latency_during(server, lambda: None, calls=10)
        latencies, seconds = fanout.board_latency_during(server, report, calls=40, settle=0.1)
        ok = bool(latencies) and percentile(latencies, 99) <= TARGETS["report_p99"]
        rows.append(
            Row(
                mode,
                "board latency during a year-long PDF report",
                f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms over "
                f"{len(latencies)} calls (quiet p50 {percentile(quiet, 50):.0f} ms); {len(sizes)} reports, "
                f"{seconds / max(len(sizes), 1):.1f} s and {sizes[0] // 1024 if sizes else 0} KiB each",
                "p99 ≤ 100 ms",
                _met(ok),
            )
        )
    finally:
        server.stop()


FLOORS: dict[str, floors.Floor] = {}


def bench_abuse(rows: list[Row], workdir: Path, mode: str, samples: int) -> None:
    """/healthz p99 while one client sprays wrong passwords and a phone floods snapshot requests (issue 14)."""
    for throttle in (True, False):
        result = abuse.run(workdir, mode, samples, throttle)
        rows.append(
            Row(
                mode,
                "/healthz under wrong passwords + snapshot flood" + ("" if throttle else " (every password hashed)"),
                result.text(),
                f"p99 ≤ idle + {abuse.TARGET_MS:.0f} ms",
                _met(result.met),
            )
        )


def bench_floors(rows: list[Row], quick: bool) -> None:
    """The stack's and the disk's own limits, so the issue figures can be read against them."""
    for floor in floors.run(quick):
        FLOORS[floor.what] = floor
        rows.append(Row("floor", floor.what, floor.text()))


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base and base == base else "n/a"


def bench_clerks(rows: list[Row], workdir: Path, quick: bool) -> None:
    """Issue 13's clerk figures: one clerk, 20 at a barrier (empty day and 30,000 served), 5,000 waiting."""
    rounds, barrier_rounds, finished = (60, 30, 5_000) if quick else (300, 100, 30_000)
    flask = next((f for w, f in FLOORS.items() if "Flask" in w or "flask" in w), None)
    commit = FLOORS.get("SQLite commit, WAL, synchronous=FULL")
    one = clerks.call_next_one(workdir, "call-one", rounds, waiting=0)
    bound = 4 * commit.p50 + flask.p50 if flask and commit else float("nan")
    sql = FLOORS.get(floors.CALL_NEXT_SQL)
    least = f"; Flask + its SQL alone = {flask.p50 + sql.p50:.2f} ms" if flask and sql else ""
    rows.append(
        Row(
            "eventlet",
            "call next, 1 clerk, keep-alive",
            one.text() + (f"; bound 4×commit+flask = {bound:.2f} ms" if bound == bound else "") + least,
            "p50 ≤ 4× commit + Flask",
            _met(one.p50 <= bound if bound == bound else None),
        )
    )
    many = clerks.call_next_one(workdir, "call-5000", rounds, waiting=5_000)
    rows.append(
        Row(
            "eventlet",
            "call next, 1 clerk, 5,000 waiting",
            many.text() + f"; {_ratio(many.p50, one.p50)} of a short line",
            "≤ 1.5× short line",
            _met(many.p50 <= 1.5 * one.p50),
        )
    )
    at_zero = clerks.barrier_rounds(workdir, "barrier-0", 20, barrier_rounds)
    rows.append(
        Row(
            "eventlet",
            f"20 clerks at once × {barrier_rounds} rounds",
            at_zero.timings.text() + f"; {at_zero.called} called, {at_zero.twice} twice",
            "p99 ≤ 100 ms, none twice",
            _met(at_zero.timings.p99 <= 100 and at_zero.twice == 0),
        )
    )
    at_day = clerks.barrier_rounds(workdir, "barrier-day", 20, barrier_rounds, finished=finished)
    rows.append(
        Row(
            "eventlet",
            f"20 clerks at once, {finished:,} served today",
            at_day.timings.text()
            + f"; {_ratio(at_day.timings.p50, at_zero.timings.p50)} of an empty day; {at_day.twice} twice",
            "p50 ≤ 1.2× empty day",
            _met(at_day.timings.p50 <= 1.2 * at_zero.timings.p50 and at_day.twice == 0),
        )
    )
    rows.append(
        Row(
            "eventlet",
            f"board snapshot, {finished:,} served today",
            at_day.snapshot.text() + f"; {_ratio(at_day.snapshot.p50, at_zero.snapshot.p50)} of an empty day",
            "≤ 1.2× empty day",
            _met(at_day.snapshot.p50 <= 1.2 * at_zero.snapshot.p50),
        )
    )


def bench_live(rows: list[Row], workdir: Path, quick: bool) -> None:
    """The live dashboard read at 0 and at 30,000 served today (bench/live_stats.py)."""
    for row in live_stats.run(
        workdir, mode="eventlet", finished=5_000 if quick else 30_000, reads=100 if quick else 400
    ):
        rows.append(Row("eventlet", row["what"], row["value"], row.get("target", ""), row.get("met", "")))


def bench_mixed(rows: list[Row], workdir: Path, quick: bool) -> None:
    result = clerks.mixed(workdir, 10 if quick else 60)
    worst = max(result.issue.p99, result.call.p99)
    rows.append(
        Row(
            "eventlet",
            f"16 kiosks + 20 clerks, {10 if quick else 60} s",
            f"issue {result.issue.text()}; call next {result.call.text()}; "
            f"board saw {result.calls_seen} of {result.calls_made} calls",
            "p99 ≤ 150 ms, every call",
            _met(worst <= 150 and result.calls_seen == result.calls_made),
        )
    )


def bench_growth(rows: list[Row], workdir: Path, quick: bool) -> None:
    """Issue 12's table: how each request's cost grows with the line (0 / 200 / 1,000 / 5,000 waiting)."""
    repeat = 30 if quick else 100
    levels = (0, 200, 1_000) if quick else (0, 200, 1_000, 5_000)
    for spread in (False, True):
        base: clerks.GrowthRow | None = None
        for waiting in levels:
            row = clerks.growth(workdir, waiting, spread, repeat)
            base = base or row
            where = "20 agencies" if spread else "one service"
            parts = []
            for label, timings, first in (
                ("issue", row.issue, base.issue),
                ("call next", row.call, base.call),
                ("status read", row.status, base.status),
                ("dashboard", row.dashboard, base.dashboard),
                ("board snapshot", row.snapshot, base.snapshot),
            ):
                errors = f" [{len(timings.errors)} errors: {timings.errors[0]}]" if timings.errors else ""
                parts.append(f"{label} {timings.p50:.1f} ms ({_ratio(timings.p50, first.p50)}){errors}")
            rows.append(Row("eventlet", f"p50 at {waiting:,} waiting, {where}", "; ".join(parts)))


def bench_sizes(rows: list[Row], workdir: Path, quick: bool) -> None:
    flask = next((f for w, f in FLOORS.items() if "Flask" in w or "flask" in w), None)
    for size, timings in clerks.answer_sizes(workdir, 100 if quick else 500).items():
        floor = f"; {_ratio(timings.p50, flask.p50)} of Flask 'ok'" if flask else ""
        rows.append(
            Row(
                "eventlet",
                f"answer of {size // 1024} KiB, keep-alive",
                timings.text() + floor,
                "no 40 ms stall",
                _met(timings.p99 < 40),
            )
        )


def print_table(rows: list[Row]) -> None:
    headers = ("mode", "measure", "result", "target", "met")
    table = [headers, *((r.mode, r.what, r.value, r.target, r.met) for r in rows)]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(headers))]
    print()
    for index, line in enumerate(table):
        print("| " + " | ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def run_eventlet_parts(rows: list[Row], workdir: Path, parts: set[str], quick: bool) -> None:
    """The clerk, mixed, growth and answer-size parts: one eventlet server each (the mode `luot serve` uses)."""
    for part, run_once in (
        ("clerks", bench_clerks),
        ("mixed", bench_mixed),
        ("growth", bench_growth),
        ("sizes", bench_sizes),
        ("live", bench_live),
    ):
        if part not in parts:
            continue
        began_part, before = time.monotonic(), len(rows)
        try:
            run_once(rows, workdir, quick)
        except Exception as exc:  # one part failing must not lose the others' figures
            rows.append(Row("eventlet", part, f"failed: {exc.__class__.__name__}: {exc}"[:160]))
        for row in rows[before:]:
            print(f"  {row.mode:<9} {row.what}: {row.value}", flush=True)
        print(f"  ({part}: {time.monotonic() - began_part:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: eventlet,gevent,threading")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run in about a minute")
    parser.add_argument(
        "--only",
        default="floors,issue,clerks,mixed,growth,sizes,live,fanout,report,abuse",
        help="comma-separated parts: floors,issue,clerks,mixed,growth,sizes,live,fanout,report,abuse",
    )
    parser.add_argument("--clients", default="", help="fan-out levels, e.g. 100,500,2000")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (server logs, databases)")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    parts = set(args.only.split(","))
    levels = (
        tuple(int(n) for n in args.clients.split(","))
        if args.clients
        else ((20, 100) if args.quick else (100, 500, 2000))
    )
    sequential, concurrent, calls = (200, 320, 5) if args.quick else (500, 800, 10)

    print(f"Machine: {machine()}")
    print(f"Load average before the run: {os.getloadavg()[0]:.2f} (other work on the machine skews every figure)")
    began = time.monotonic()
    rows: list[Row] = []
    workdir = Path(tempfile.mkdtemp(prefix="luot-bench-"))
    try:
        year: Path | str = "n/a (skipped)"
        if "report" in parts:
            began_year = time.monotonic()
            year = year_instance(workdir, volume=0.02 if args.quick else 0.05)
            print(f"  (a synthetic year for the report: {time.monotonic() - began_year:.0f} s)", flush=True)
        if "floors" in parts:
            began_part = time.monotonic()
            try:
                bench_floors(rows, args.quick)
            except Exception as exc:  # the floors explain the other figures; their failure must not lose them
                rows.append(Row("floor", "floors", f"failed: {exc.__class__.__name__}: {exc}"[:160]))
            for row in rows:
                print(f"  {row.mode:<9} {row.what}: {row.value}", flush=True)
            print(f"  (floors: {time.monotonic() - began_part:.0f} s)", flush=True)
        if "eventlet" in modes:
            run_eventlet_parts(rows, workdir, parts, args.quick)
        for mode in modes:
            for part, run_part, extra in (
                ("issue", bench_issue, (sequential, concurrent)),
                ("fanout", bench_fanout, (levels, calls)),
                ("report", bench_report, (year,)),
                ("abuse", bench_abuse, (100 if args.quick else 300,)),
            ):
                if part not in parts:
                    continue
                began_part, before = time.monotonic(), len(rows)
                try:
                    run_part(rows, workdir, mode, *extra)
                except Exception as exc:  # one part failing must not lose the others' figures
                    rows.append(Row(mode, part, f"failed: {exc.__class__.__name__}: {exc}"[:160]))
                for row in rows[before:]:
                    print(f"  {row.mode:<9} {row.what}: {row.value}", flush=True)
                print(f"  ({mode} {part}: {time.monotonic() - began_part:.0f} s)", flush=True)
    finally:
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows)
    print(f"\nTotal {time.monotonic() - began:.0f} s; load average now {os.getloadavg()[0]:.2f}.")


if __name__ == "__main__":
    main()
