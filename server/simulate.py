"""`luot simulate`: a busy day at the demo centre, played through the REST API of a running server whose
clock runs fast (LUOT_CLOCK_START / LUOT_CLOCK_SPEED).

A discrete-event model drives real HTTP calls: citizens arrive by hour with the two peaks of Vietnamese
centres (8:00–10:30, 13:30–15:00; closed 11:30–13:30) and take a ticket at a kiosk (some with a priority);
each of the 43 counters calls the next citizen of its agency, serves them for a random time around the
service's typical minutes (the centre's clerks are a little slower than configured), sometimes finds
nobody (recall, then no-show) and sometimes transfers the citizen to another agency. The report compares
the wait each ticket was promised at issue (`estimated_wait_minutes`) with the wait it got
(first call − issue) and sums up the waits of the day.

`--serve` starts its own server (temp instance, demo data, compressed clock) and stops it at the end.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from server.clock import LOCAL_TZ
from server.demo_data import AGENCIES, DEMO_PASSWORDS
from server.domain.vocabulary import PRIORITY_CODES
from server.process import ServerProcess

log = logging.getLogger(__name__)

# Arrivals per hour of the day (relative), inside opening hours 7:30–11:30 and 13:30–17:00.
HOURLY_WEIGHT = {7: 0.9, 8: 1.7, 9: 1.9, 10: 1.3, 11: 0.5, 13: 0.9, 14: 1.5, 15: 1.1, 16: 0.6}
OPEN_PERIODS = (((7, 30), (11, 30)), ((13, 30), (17, 0)))


@dataclass(frozen=True)
class Behaviour:
    priority_share: float = 0.07
    no_show_share: float = 0.05
    transfer_share: float = 0.03
    slower_than_configured: tuple[float, float] = (0.85, 1.45)  # true mean service time ÷ configured default
    service_spread: float = 0.45  # sigma of the lognormal service time


@dataclass
class Arrival:
    at: datetime
    service: str
    agency: int
    priority: str = ""


@dataclass
class Record:
    service: str
    agency: int
    priority: str
    issued_at: datetime
    estimate: int | None
    ahead: int
    first_call: datetime | None = None
    outcome: str = "waiting"


@dataclass
class Day:
    """What the simulated day produced (the report is computed from it)."""

    records: dict[int, Record] = field(default_factory=dict)
    turned_away: Tally = field(default_factory=Tally)
    errors: Tally = field(default_factory=Tally)
    transfers: int = 0


class SimClock:
    """The server's compressed clock, followed locally: calibrated once from /healthz."""

    def __init__(self, server_now: datetime, speed: float) -> None:
        self.origin = server_now
        self.mono = time.monotonic()
        self.speed = speed

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=(time.monotonic() - self.mono) * self.speed)

    def sleep_until(self, instant: datetime, stop: threading.Event | None = None) -> None:
        delay = (instant - self.now()).total_seconds() / self.speed
        if delay > 0:
            (stop.wait if stop is not None else time.sleep)(delay)

    def sleep_minutes(self, minutes: float, stop: threading.Event | None = None) -> None:
        self.sleep_until(self.now() + timedelta(minutes=minutes), stop)


def plan_day(
    day: date, citizens: int, rng: random.Random, behaviour: Behaviour
) -> tuple[list[Arrival], dict[str, float]]:
    """Arrival times and services for `citizens` people, and each service's true mean service minutes."""
    shares = [counters * rng.uniform(0.7, 1.3) for _code, _n, _e, counters, _s in AGENCIES]
    true_minutes = {
        code: minutes * rng.uniform(*behaviour.slower_than_configured)
        for *_a, services in AGENCIES
        for code, _name, minutes in services
    }
    slots: list[tuple[datetime, float]] = []  # (start of an open quarter-hour, weight)
    for (start_h, start_m), (end_h, end_m) in OPEN_PERIODS:
        at = datetime(day.year, day.month, day.day, start_h, start_m, tzinfo=LOCAL_TZ)
        end = datetime(day.year, day.month, day.day, end_h, end_m, tzinfo=LOCAL_TZ)
        while at < end:
            slots.append((at, HOURLY_WEIGHT.get(at.hour, 0.3)))
            at += timedelta(minutes=15)
    arrivals = []
    for _ in range(citizens):
        start, _weight = rng.choices(slots, weights=[w for _s, w in slots])[0]
        agency = rng.choices(range(len(AGENCIES)), weights=shares)[0]
        services = [code for code, _name, _minutes in AGENCIES[agency][4] if code != "SGDDT-CS"] or [
            AGENCIES[agency][4][0][0]
        ]
        priority = rng.choice(PRIORITY_CODES) if rng.random() < behaviour.priority_share else ""
        arrivals.append(Arrival(start + timedelta(seconds=rng.uniform(0, 900)), rng.choice(services), agency, priority))
    arrivals.sort(key=lambda a: a.at)
    return arrivals, true_minutes


class Simulation:
    def __init__(
        self,
        url: str,
        speed: float,
        citizens: int,
        seed: int,
        kiosk_token: str,
        clerk_password: str,
        behaviour: Behaviour | None = None,
        kiosks: int = 4,
        until: tuple[int, int] = (19, 0),
    ) -> None:
        self.url = url.rstrip("/")
        self.speed = speed
        self.citizens = citizens
        self.rng = random.Random(seed)
        self.kiosk_token = kiosk_token
        self.clerk_password = clerk_password
        self.behaviour = behaviour or Behaviour()
        self.kiosks = kiosks
        self.until = until
        self.day = Day()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.waiting = [0] * len(AGENCIES)
        self.ready = [threading.Condition(self.lock) for _ in AGENCIES]
        self.arrivals_done = threading.Event()

    # ------------------------------------------------------------ the run

    def run(self) -> Day:
        http = requests.Session()
        health = http.get(f"{self.url}/healthz", timeout=10).json()
        self.clock = SimClock(datetime.fromisoformat(health["time"]), self.speed)
        today = self.clock.now().astimezone(LOCAL_TZ).date()
        self.end = datetime(today.year, today.month, today.day, *self.until, tzinfo=LOCAL_TZ)
        arrivals, self.true_minutes = plan_day(today, self.citizens, self.rng, self.behaviour)
        arrivals = [a for a in arrivals if a.at >= self.clock.now()]  # a server started mid-day skips the past
        counters = self._open_counters(http)
        threads = [
            threading.Thread(target=self._counter, args=(number, agency, token), daemon=True)
            for number, agency, token in counters
        ]
        tickets: queue.Queue = queue.Queue()
        threads += [threading.Thread(target=self._kiosk, args=(tickets,), daemon=True) for _ in range(self.kiosks)]
        for thread in threads:
            thread.start()
        for arrival in arrivals:
            self.clock.sleep_until(arrival.at, self.stop)
            if self.clock.now() >= self.end:
                break
            tickets.put(arrival)
        for _ in range(self.kiosks):
            tickets.put(None)
        tickets.join()
        self.arrivals_done.set()
        with self.lock:
            for condition in self.ready:
                condition.notify_all()
        for thread in threads:
            thread.join(max(1.0, (self.end - self.clock.now()).total_seconds() / self.speed + 30))
        self.stop.set()
        http.close()
        return self.day

    def _open_counters(self, http: requests.Session) -> list[tuple[int, int, str]]:
        counters = []
        number = 1
        for agency, (_code, _name, _en, count, _services) in enumerate(AGENCIES):
            for _ in range(count):
                login = http.post(
                    f"{self.url}/api/v1/auth/token",
                    timeout=30,
                    json={"username": f"clerk{number:02d}", "password": self.clerk_password},
                )
                login.raise_for_status()
                token = login.json()["token"]
                opened = http.post(
                    f"{self.url}/api/v1/counters/{number}/open",
                    json={"takeover": True},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                opened.raise_for_status()
                counters.append((number, agency, token))
                number += 1
        return counters

    def _kiosk(self, tickets: queue.Queue) -> None:
        http = requests.Session()
        headers = {"Authorization": f"Bearer {self.kiosk_token}"}
        while (arrival := tickets.get()) is not None:
            try:
                body = {"service": arrival.service, **({"priority": arrival.priority} if arrival.priority else {})}
                response = http.post(f"{self.url}/api/v1/tickets", json=body, headers=headers, timeout=60)
                if response.status_code != 201:
                    self.day.turned_away[response.json().get("error", {}).get("code", response.status_code)] += 1
                    continue
                ticket = response.json()
                with self.lock:
                    self.day.records[ticket["id"]] = Record(
                        arrival.service,
                        arrival.agency,
                        arrival.priority,
                        datetime.fromisoformat(ticket["issued_at"]),
                        ticket.get("estimated_wait_minutes"),
                        ticket.get("waiting_ahead", 0),
                    )
                    self.waiting[arrival.agency] += 1
                    self.ready[arrival.agency].notify()
            except requests.RequestException as exc:
                self.day.errors[exc.__class__.__name__] += 1
            finally:
                tickets.task_done()
        tickets.task_done()
        http.close()

    def _counter(self, number: int, agency: int, token: str) -> None:
        http = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        rng = random.Random(self.rng.random())
        base = f"{self.url}/api/v1/counters/{number}"
        while not self.stop.is_set():
            with self.lock:
                while self.waiting[agency] == 0 and not self.arrivals_done.is_set() and not self.stop.is_set():
                    self.ready[agency].wait(timeout=2)
                if self.waiting[agency] == 0:
                    break  # the day is over for this counter
                self.waiting[agency] -= 1
            if self.clock.now() >= self.end:
                break
            response = http.post(f"{base}/next", json={}, headers=headers, timeout=60)
            called_at = self.clock.now()
            if response.status_code != 200:
                self.day.errors[f"next {response.status_code}"] += 1
                self.clock.sleep_minutes(0.5, self.stop)
                continue
            ticket = response.json()["ticket"]
            with self.lock:
                record = self.day.records.get(ticket["id"])
                if record is not None and record.first_call is None:
                    record.first_call = called_at
            self._serve(http, base, headers, rng, ticket, record)
        http.close()

    def _serve(
        self,
        http: requests.Session,
        base: str,
        headers: dict[str, str],
        rng: random.Random,
        ticket: dict[str, Any],
        record: Record | None,
    ) -> None:
        """Plays one citizen at the counter. Times are scheduled from the call in simulated time, so the
        time the API calls take does not slow the clerk down (at ×120 a 0.1 s call would be 12 s)."""
        behaviour = self.behaviour
        called = self.clock.now()
        if rng.random() < behaviour.no_show_share:
            self.clock.sleep_until(called + timedelta(minutes=1), self.stop)
            http.post(f"{base}/recall", json={}, headers=headers, timeout=60)
            self.clock.sleep_until(called + timedelta(minutes=2), self.stop)
            http.post(f"{base}/no-show", json={}, headers=headers, timeout=60)
            if record is not None:
                record.outcome = "no_show"
            return
        walk = rng.uniform(0.2, 0.8)  # minutes from the call to the desk
        self.clock.sleep_until(called + timedelta(minutes=walk), self.stop)
        http.post(f"{base}/start", json={}, headers=headers, timeout=60)
        service = record.service if record is not None else ""
        mean = self.true_minutes.get(service, 6.0)
        sigma = behaviour.service_spread
        minutes = rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)
        self.clock.sleep_until(called + timedelta(minutes=walk + minutes), self.stop)
        if record is not None and record.outcome == "waiting" and rng.random() < behaviour.transfer_share:
            target = rng.randrange(len(AGENCIES))
            if target != record.agency:
                code = AGENCIES[target][4][0][0]
                moved = http.post(f"{base}/transfer", json={"service": code}, headers=headers, timeout=60)
                if moved.status_code == 200:
                    with self.lock:
                        record.outcome = "transferred"
                        self.day.transfers += 1
                        self.waiting[target] += 1
                        self.ready[target].notify()
                    return
        http.post(f"{base}/finish", json={}, headers=headers, timeout=60)
        if record is not None and record.outcome == "waiting":
            record.outcome = "served"


# ---------------------------------------------------------------- the report


def report(day: Day) -> dict[str, Any]:
    called = [r for r in day.records.values() if r.first_call is not None]
    waits = [(r.first_call - r.issued_at).total_seconds() / 60 for r in called]  # type: ignore[operator]
    errors = [r.estimate - w for r, w in zip(called, waits, strict=True) if r.estimate is not None]
    outcomes = Tally(r.outcome for r in day.records.values())

    def pct(values: list[float], share: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")

    by_ahead: dict[str, list[float]] = {}
    for r, w in zip(called, waits, strict=True):
        if r.estimate is not None:
            band = "0" if r.ahead == 0 else "1–5" if r.ahead <= 5 else "6–20" if r.ahead <= 20 else ">20"
            by_ahead.setdefault(band, []).append(abs(r.estimate - w))
    return {
        "issued": len(day.records),
        "turned_away": dict(day.turned_away),
        "called": len(called),
        "never_called": len(day.records) - len(called),
        "outcomes": dict(outcomes),
        "transfers": day.transfers,
        "errors": dict(day.errors),
        "wait_minutes": {
            "mean": round(statistics.fmean(waits), 1) if waits else None,
            "p50": round(pct(waits, 0.5), 1),
            "p90": round(pct(waits, 0.9), 1),
            "max": round(max(waits), 1) if waits else None,
            "within_15_min": round(sum(w <= 15 for w in waits) / len(waits), 3) if waits else None,
        },
        "estimate": {
            "mean_absolute_error_min": round(statistics.fmean(abs(e) for e in errors), 1) if errors else None,
            "bias_min": round(statistics.fmean(errors), 1) if errors else None,  # > 0: promised too long
            "within_5_min": round(sum(abs(e) <= 5 for e in errors) / len(errors), 3) if errors else None,
            "mae_by_people_ahead": {band: round(statistics.fmean(v), 1) for band, v in sorted(by_ahead.items())},
        },
    }


def format_report(result: dict[str, Any], citizens: int, speed: float, seconds: float) -> str:
    wait, estimate = result["wait_minutes"], result["estimate"]
    lines = [
        f"Simulated day: {citizens} citizens planned, {result['issued']} tickets issued "
        f"({sum(result['turned_away'].values())} turned away: {result['turned_away'] or 'none'}), "
        f"clock ×{speed:g}, {seconds:.0f} s real time.",
        f"Outcomes: {result['outcomes']}; transfers {result['transfers']}; "
        f"never called by the end: {result['never_called']}; client errors: {result['errors'] or 'none'}.",
        f"Wait (first call − issue), {result['called']} citizens: mean {wait['mean']} min, median {wait['p50']}, "
        f"p90 {wait['p90']}, max {wait['max']}; within 15 min: {_share(wait['within_15_min'])}.",
        f"Estimate at issue vs actual wait: mean absolute error {estimate['mean_absolute_error_min']} min, "
        f"bias {estimate['bias_min']:+} min, within ±5 min: {_share(estimate['within_5_min'])}.",
        f"Mean absolute error by people ahead at issue: {estimate['mae_by_people_ahead']}.",
    ]
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


# ---------------------------------------------------------------- a server of its own


def next_weekday_morning(now: datetime) -> datetime:
    """07:25 local on the next Monday–Friday (the centre opens at 07:30)."""
    day = now.astimezone(LOCAL_TZ).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 7, 25, tzinfo=LOCAL_TZ)


@contextmanager
def own_server(speed: float, async_mode: str = "eventlet") -> Iterator[ServerProcess]:
    """`luot init`, `luot seed-demo` and `luot serve` in a temp folder, with the clock compressed `speed` times
    and starting at 07:25 on the next weekday; the folder is removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="luot-simulate-"))
    server = ServerProcess(
        folder / "instance",
        async_mode=async_mode,
        env={
            "LUOT_TICKET_RATE_LIMIT": "100000/minute",
            "LUOT_CLOCK_SPEED": str(speed),
            "LUOT_CLOCK_START": next_weekday_morning(datetime.now(LOCAL_TZ)).isoformat(),
        },
    )
    try:
        server.seed_demo()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def simulate(
    url: str | None,
    speed: float,
    citizens: int,
    seed: int,
    json_path: str | None = None,
    kiosk_token: str = "demo-kiosk-1",
    clerk_password: str = DEMO_PASSWORDS["clerk"],
    async_mode: str = "eventlet",
) -> str:
    began = time.monotonic()
    if url is None:
        with own_server(speed, async_mode) as server:
            day = Simulation(server.url, speed, citizens, seed, kiosk_token, clerk_password).run()
    else:
        day = Simulation(url, speed, citizens, seed, kiosk_token, clerk_password).run()
    result = report(day)
    if json_path:
        Path(json_path).write_text(json.dumps(result, ensure_ascii=False, indent=2))
    return format_report(result, citizens, speed, time.monotonic() - began)
