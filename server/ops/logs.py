"""Structured log lines for journald (`journalctl -u luot`): one per HTTP request and one per published domain
event, as `key=value` pairs after the message name so they can be grepped or parsed (logfmt).

    INFO luot.request: request method=POST route=/api/v1/tickets status=201 ms=12.4 client=10.0.0.21
    INFO luot.event: event kind=issued site_id=1 ticket=1001 service_id=3 counter_id=- user_id=-
    INFO luot.event: event kind=called site_id=1 ticket=1001 service_id=3 counter_id=1 user_id=4

Installed by create_app (server/app.py); both loggers log at INFO, so LUOT_LOG_LEVEL=WARNING silences them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask, Response, g, request

from server.context import Luot

requests_log = logging.getLogger("luot.request")
events_log = logging.getLogger("luot.event")


def install_logs(app: Flask, ctx: Luot) -> None:
    """Adds the request hooks to `app` and wraps `ctx.run.publish`."""

    @app.before_request
    def _started() -> None:
        g.luot_log_started = time.perf_counter()

    @app.after_request
    def _logged(response: Response) -> Response:
        if requests_log.isEnabledFor(logging.INFO):
            started = g.get("luot_log_started")
            ms = (time.perf_counter() - started) * 1000 if started is not None else -1.0
            route = request.url_rule.rule if request.url_rule is not None else request.path[:80]
            requests_log.info(
                "request method=%s route=%s status=%s ms=%.1f client=%s",
                request.method,
                route,
                response.status_code,
                ms,
                request.remote_addr or "-",
            )
        return response

    ctx.run.publish = _logging(ctx.run.publish)


def _logging(publish: Callable[[list], None]) -> Callable[[list], None]:
    def publish_and_log(events: list) -> None:
        publish(events)
        if events_log.isEnabledFor(logging.INFO):
            for event in events:
                ticket, counter = event.ticket, event.counter
                # a ticket's events carry the ticket (which names its counter), a counter's events the counter
                counter_id = counter.id if counter is not None else getattr(ticket, "counter_id", None)
                events_log.info(
                    "event kind=%s site_id=%s ticket=%s service_id=%s counter_id=%s user_id=%s",
                    event.kind,
                    event.site_id,
                    getattr(ticket, "display_number", "-"),
                    getattr(ticket, "service_id", "-"),
                    counter_id or "-",
                    event.user_id or "-",
                )

    return publish_and_log
