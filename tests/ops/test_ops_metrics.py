"""/metrics after a small day: requests, tickets issued and called, the line, Socket.IO connections, print failures
and day-close runs; off unless LUOT_METRICS; behind LUOT_METRICS_TOKEN when set."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from server.app import create_app
from server.auth import token_hash
from server.maintenance import close_past_days_now
from server.models import Device
from server.settings import Settings
from tests.support.api import act, bearer, issue, staff_token


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, metrics=True)


@pytest.fixture
def printing(luot):
    """The print service, closed after the test: its probe of the failed printer must not outlive the app."""
    yield luot.print_jobs
    luot.print_jobs.close()


def test_metrics_after_a_small_day(client, world, luot, clock, socketio, app: Flask, printing) -> None:
    with luot.db.write() as session:  # the kiosk's printer setting is wrong: each ticket fails to print
        kiosk = session.exec(select(Device).where(Device.token_hash == token_hash(world.kiosk_token))).one()
        kiosk.settings = {**(kiosk.settings or {}), "printer": "lpt:1"}
        session.add(kiosk)
    tickets = [issue(client, world.kiosk_token, "TP-A") for _ in range(3)]
    for ticket in tickets:
        job = luot.print_jobs.job(ticket["print"]["job_id"])
        assert job is not None and job.settled.wait(10)
    clerk = staff_token(client, "clerk1")
    act(client, clerk, world.counters["c1"], "open")
    act(client, clerk, world.counters["c1"], "next")
    clock.advance(minutes=5)
    board = socketio.test_client(app, auth={"token": world.board_token})
    phone = socketio.test_client(app, auth={"tracking_token": tickets[2]["tracking_token"]})
    assert board.is_connected() and phone.is_connected()
    close_past_days_now(luot)

    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    found = samples(answer.get_data(as_text=True))
    site = str(world.site_id)
    assert found[("luot_tickets_issued_total", (("site_id", site),))] == 3
    assert found[("luot_tickets_called_total", (("site_id", site),))] == 1
    assert found[("luot_queue_waiting", (("service", "TP-A"), ("site_id", site)))] == 2
    assert found[("luot_queue_longest_wait_seconds", (("service", "TP-A"), ("site_id", site)))] == pytest.approx(300)
    assert found[("luot_socketio_connections", (("kind", "device"),))] == 1
    assert found[("luot_socketio_connections", (("kind", "phone"),))] == 1
    assert found[("luot_print_failures_total", (("error", "invalid_spec"),))] == 3
    assert found[("luot_day_close_runs_total", ())] == 1
    assert found[("luot_event_publish_seconds_count", ())] == 5  # 3 issues, open, next
    requests = (("method", "POST"), ("route", "/api/v1/tickets"), ("status", "201"))
    assert found[("luot_http_requests_total", requests)] == 3
    latency = ("luot_http_request_duration_seconds_count", (("route", "/api/v1/tickets"),))
    assert found[latency] == 3
    assert not any(re.search(r"kiosk-token|tracking", str(labels)) for _, labels in found)  # routes, not tokens
    board.disconnect(), phone.disconnect()


def test_metrics_are_off_by_default_and_behind_the_token_when_set(settings: Settings, clock) -> None:
    off = create_app(dataclasses.replace(settings, metrics=False), clock=clock)
    assert off.test_client().get("/metrics").status_code == 404
    off.extensions["luot"].close()
    guarded = create_app(dataclasses.replace(settings, metrics_token="s3cret"), clock=clock)
    client = guarded.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("wrong")).status_code == 401
    assert client.get("/metrics", headers=bearer("s3cret")).status_code == 200
    guarded.extensions["luot"].close()


def test_one_log_line_per_request_and_per_domain_event(client, world, caplog) -> None:
    caplog.set_level(logging.INFO, logger="luot")
    issue(client, world.kiosk_token, "TP-A")
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("luot.")]
    assert any(
        re.fullmatch(r"request method=POST route=/api/v1/tickets status=201 ms=[\d.]+ client=\S+", line)
        for line in lines
    ), lines
    assert f"event kind=issued site_id={world.site_id} ticket=1001" in " ".join(lines), lines
