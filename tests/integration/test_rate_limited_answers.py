"""A request refused by a rate limit says how long to wait, in Vietnamese and English, as Retry-After does:
seconds under a minute, minutes from a minute on (every 429 said "wait a moment" while Retry-After said 3599)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from flask import Flask

from server.app import create_app
from server.clock import ManualClock
from server.settings import Settings
from tests.support.api import bearer
from tests.support.citizens import enable_sms
from tests.support.world import build_world


@pytest.fixture
def strict_app(settings: Settings, clock: ManualClock) -> Iterator[Flask]:
    """Tickets 2 a minute per kiosk; one-time codes 1 an hour per address."""
    app = create_app(
        dataclasses.replace(settings, ticket_rate_limit="2/minute", otp_address_limit="1/hour"), clock=clock
    )
    enable_sms(app.extensions["luot"], build_world(app.extensions["luot"].db).site_id)
    yield app
    app.extensions["luot"].close()


def refusal(answer) -> tuple[dict[str, str], int]:
    assert answer.status_code == 429, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["code"] == "rate_limited" and error["message"] == error["messages"]["vi"]
    return error["messages"], int(answer.headers["Retry-After"])


def test_a_limit_of_a_minute_says_the_seconds_left(strict_app: Flask) -> None:
    client = strict_app.test_client()
    for _ in range(2):
        assert (
            client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer("kiosk-token-1")).status_code == 201
        )
    messages, retry_after = refusal(
        client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer("kiosk-token-1"))
    )
    # the window's reset is whole seconds away or a fraction less: "1 minute" at exactly 60, seconds below
    said = re.fullmatch(r"Too many requests: please try again in (\d+) (seconds?|minute)\.", messages["en"])
    assert said is not None, messages
    seconds = int(said[1]) * (60 if said[2] == "minute" else 1)
    assert 0 < seconds <= 60 and abs(seconds - retry_after) <= 1
    unit = "phút" if said[2] == "minute" else "giây"
    assert messages["vi"] == f"Quá nhiều yêu cầu: vui lòng thử lại sau {said[1]} {unit}."


def test_a_limit_of_an_hour_says_the_minutes_left(strict_app: Flask) -> None:
    client = strict_app.test_client()
    ask = {"phone": "0912000001", "consent": True}
    assert client.post("/api/citizen/HN/otp", json=ask).status_code == 202
    messages, retry_after = refusal(client.post("/api/citizen/HN/otp", json={**ask, "phone": "0912000002"}))
    minutes = int(re.fullmatch(r"Too many requests: please try again in (\d+) minutes?\.", messages["en"])[1])
    assert minutes == 60 and retry_after > 3500
    assert messages["vi"] == "Quá nhiều yêu cầu: vui lòng thử lại sau 60 phút."


@pytest.mark.parametrize(
    ("seconds", "vi", "en"),
    [
        (0.2, "1 giây", "1 second"),
        (41, "41 giây", "41 seconds"),
        (59.5, "1 phút", "1 minute"),
        (60, "1 phút", "1 minute"),
        (61, "2 phút", "2 minutes"),
        (3599, "60 phút", "60 minutes"),
    ],
)
def test_a_wait_is_said_in_seconds_under_a_minute_else_in_whole_minutes(seconds: float, vi: str, en: str) -> None:
    from server.errors_http import wait_label

    assert (wait_label(seconds).vi, wait_label(seconds).en) == (vi, en)


def test_a_limited_route_keeps_its_headers_and_a_route_without_limits_gets_none(strict_app: Flask) -> None:
    """Flask-Limiter's after-request and teardown hooks run only for a request that met a limit (issue 13): the
    limited route still counts down in its headers, request after request, and an unlimited one carries none."""
    from flask.globals import request_ctx

    client = strict_app.test_client()
    remaining = []
    for _ in range(2):
        answer = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer("kiosk-token-1"))
        assert answer.status_code == 201 and answer.headers["X-RateLimit-Limit"] == "2"
        remaining.append(answer.headers["X-RateLimit-Remaining"])
    assert remaining == ["1", "0"]  # the per-request state was reset between them, the storage kept the count
    plain = client.get("/healthz")
    assert plain.status_code == 200 and not any(name.startswith("X-RateLimit") for name, _ in plain.headers.items())
    with strict_app.test_request_context("/healthz"):
        strict_app.preprocess_request()
        strict_app.process_response(strict_app.response_class("{}"))
        strict_app.do_teardown_request()
        assert not hasattr(request_ctx, "_limiter_request_context")  # the hooks made no state for it
