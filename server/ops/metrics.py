"""`/metrics` in the Prometheus text format (prometheus_client), on when LUOT_METRICS is set.

Fed by hooks, never by imports in the domain:
- Flask before/after-request hooks: `luot_http_requests_total{route,method,status}` and
  `luot_http_request_duration_seconds{route}` (route = the URL rule, so one series per page, not per token);
- `Runner.publish` wrapped: `luot_tickets_issued_total{site_id}`, `luot_tickets_called_total{site_id}` (first calls
  and recalls) and `luot_event_publish_seconds` (commit → events handed to Socket.IO and the lines);
- `PrintService.on_settled`: `luot_print_failures_total{error}`;
- `Luot.day_close_watchers`: `luot_day_close_runs_total`, `luot_day_close_cancelled_total`;
- read when scraped: `luot_socketio_connections{kind}` (device | phone | staff, this process's Socket.IO rooms),
  `luot_queue_waiting{site_id,service}` and `luot_queue_longest_wait_seconds{site_id,service}` (today's waiting
  tickets in the database), and `luot_database_up` (1, or 0 when that read failed: the database is away; the
  two queue gauges are then left out, and the scrape still answers 200 with everything else).

With LUOT_METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>` (401 otherwise).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from server.context import Luot
from server.failure_log import FailureLog

log = logging.getLogger(__name__)
DATABASE_AWAY = (OperationalError, InterfaceError, PoolTimeout)  # what create_app answers 503 storage_unavailable to

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LiveFigures(Collector):
    """Gauges computed at scrape time from the Socket.IO rooms and today's waiting tickets. While the database
    is away the queue gauges are left out and `luot_database_up` is 0: the scrape still answers 200 with every
    in-process metric (the 503s of the outage among them)."""

    def __init__(self, ctx: Luot) -> None:
        self.ctx = ctx
        self.failures = FailureLog(log, "reading the queue figures for /metrics", traceback=False)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        connections = GaugeMetricFamily(
            "luot_socketio_connections", "Socket.IO connections of this process by kind", labels=["kind"]
        )
        for kind, count in sorted(connection_kinds(self.ctx.socketio).items()):
            connections.add_metric([kind], count)
        yield connections
        try:
            figures = waiting_by_service(self.ctx)
        except DATABASE_AWAY as exc:
            self.failures.failed(exc, "the queue gauges are left out, luot_database_up is 0")
            figures = None
        else:
            self.failures.worked()
        up = GaugeMetricFamily("luot_database_up", "1 when the last scrape could read the database, else 0")
        up.add_metric([], 0 if figures is None else 1)
        yield up
        if figures is None:
            return
        waiting = GaugeMetricFamily("luot_queue_waiting", "Tickets waiting now", labels=["site_id", "service"])
        longest = GaugeMetricFamily(
            "luot_queue_longest_wait_seconds", "Longest current wait", labels=["site_id", "service"]
        )
        for site_id, service, count, seconds in figures:
            waiting.add_metric([str(site_id), service], count)
            longest.add_metric([str(site_id), service], seconds)
        yield waiting
        yield longest


def connection_kinds(socketio: Any) -> dict[str, int]:
    """{"device": n, "phone": n, "staff": n} from the rooms the hub puts each connection in."""
    rooms: dict[Any, Any] = socketio.server.manager.rooms.get("/", {})
    everyone = set(rooms.get(None, {}))
    phones = {
        sid
        for room, members in rooms.items()
        if isinstance(room, str) and room.startswith("ticket:")
        for sid in members
    }
    devices = {
        sid
        for room, members in rooms.items()
        if isinstance(room, str) and room.startswith("display:")
        for sid in members
    }
    return {"device": len(devices), "phone": len(phones), "staff": len(everyone - phones - devices)}


def waiting_by_service(ctx: Luot) -> list[tuple[int, str, int, float]]:
    """[(site id, service code, tickets waiting, longest wait in seconds)] for today (local day)."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from server.clock import local_date
    from server.domain.vocabulary import TicketStatus
    from server.models import Service, Ticket

    now = ctx.clock.now()
    query = (
        select(Ticket.site_id, Service.code, func.count(), func.min(Ticket.queue_since))
        .join(Service, col(Service.id) == col(Ticket.service_id))
        .where(Ticket.status == TicketStatus.WAITING, Ticket.service_date == local_date(now))
        .group_by(col(Ticket.site_id), col(Service.code))
    )
    with ctx.db.read() as session:
        rows = session.exec(query).all()
    return [(site_id, code, count, max((now - since).total_seconds(), 0.0)) for site_id, code, count, since in rows]


class Metrics:
    """The app's own registry (a test can build several apps in one process) and the hooks that feed it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("luot_http_requests", "HTTP requests", ["route", "method", "status"], registry=r)
        self.latency = Histogram(
            "luot_http_request_duration_seconds",
            "HTTP request latency",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.issued = Counter("luot_tickets_issued", "Tickets issued", ["site_id"], registry=r)
        self.called = Counter("luot_tickets_called", "Calls and recalls", ["site_id"], registry=r)
        self.publish_lag = Histogram(
            "luot_event_publish_seconds", "Commit to events handed to Socket.IO", buckets=LATENCY_BUCKETS, registry=r
        )
        self.print_failures = Counter("luot_print_failures", "Tickets that did not print", ["error"], registry=r)
        self.day_close_runs = Counter("luot_day_close_runs", "Runs of the day close", registry=r)
        self.day_close_cancelled = Counter(
            "luot_day_close_cancelled", "Tickets of past days cancelled by the day close", registry=r
        )

    def install(self, app: Flask, ctx: Luot) -> None:
        app.before_request(self._started)
        app.after_request(self._finished)
        ctx.hub.outgoing.on_sent = self._sent
        ctx.print_jobs.on_settled.append(self._print_settled)
        ctx.day_close_watchers.append(self._day_closed)
        self.registry.register(LiveFigures(ctx))
        token = ctx.settings.metrics_token
        app.add_url_rule("/metrics", "metrics", lambda: self._scrape(token))

    def _started(self) -> None:
        g.luot_request_started = time.perf_counter()

    def _finished(self, response: Response) -> Response:
        started = g.get("luot_request_started")
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        self.requests.labels(route, request.method, str(response.status_code)).inc()
        if started is not None:
            self.latency.labels(route).observe(time.perf_counter() - started)
        return response

    def _sent(self, events: list, seconds: float) -> None:
        """The hub sent one committed transaction's events, `seconds` after its commit handed them over."""
        self.publish_lag.observe(seconds)
        for event in events:
            if event.kind == "issued":
                self.issued.labels(str(event.site_id)).inc()
            elif event.kind in ("called", "recalled"):
                self.called.labels(str(event.site_id)).inc()

    def _print_settled(self, job: Any) -> None:
        if job.status in ("failed", "expired"):
            self.print_failures.labels(job.error or job.status).inc()

    def _day_closed(self, result: Any) -> None:
        self.day_close_runs.inc()
        self.day_close_cancelled.inc(result.total)

    def _scrape(self, token: str) -> Response:
        if token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return Response("metrics token required\n", 401, {"WWW-Authenticate": "Bearer"})
        return Response(generate_latest(self.registry), 200, {"Content-Type": CONTENT_TYPE_LATEST})


def install_metrics(app: Flask, ctx: Luot) -> Metrics:
    """Turns /metrics on for this app (create_app calls it when LUOT_METRICS is set)."""
    metrics = Metrics()
    metrics.install(app, ctx)
    return metrics
