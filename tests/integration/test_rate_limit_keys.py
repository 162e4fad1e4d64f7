"""Rate-limit keys: a caller with an invalid token is counted per address, and computing a key never raises
(Flask-Limiter logged "Failed to rate limit" with a traceback per request, and limited nothing): not for a bad
token, not for a body nested deeper than the JSON parser goes."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlmodel import select

from server.app import create_app
from server.clock import ManualClock
from server.extensions import limiter
from server.models import OutboxMessage
from server.settings import Settings
from tests.support.api import bearer
from tests.support.citizens import enable_sms
from tests.support.world import build_world


@pytest.fixture
def strict_app(settings: Settings, clock: ManualClock) -> Iterator[Flask]:
    """The app with a ticket rate limit of 2 a minute."""
    app = create_app(dataclasses.replace(settings, ticket_rate_limit="2/minute"), clock=clock)
    build_world(app.extensions["luot"].db)
    yield app
    app.extensions["luot"].close()


def issue_with(client, token: str, address: str = "10.0.0.1"):
    return client.post(
        "/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(token), environ_base={"REMOTE_ADDR": address}
    )


def test_an_invalid_token_is_a_401_without_an_error_in_the_log(strict_app: Flask, caplog) -> None:
    client = strict_app.test_client()
    with caplog.at_level(logging.WARNING):
        answer = issue_with(client, "nope")
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"
    assert [record.getMessage() for record in caplog.records] == []


def test_invalid_tokens_are_limited_per_address_and_devices_per_device(strict_app: Flask) -> None:
    client = strict_app.test_client()
    assert [issue_with(client, f"nope-{n}").status_code for n in range(3)] == [401, 401, 429]
    assert issue_with(client, "nope", address="10.0.0.2").status_code == 401  # another address: its own count
    assert issue_with(client, "kiosk-token-1").status_code == 201  # the kiosk is counted as itself


@pytest.fixture
def otp_app(settings: Settings, clock: ManualClock) -> Iterator[Flask]:
    """A site that texts phones, 2 codes an hour per client address."""
    app = create_app(dataclasses.replace(settings, otp_address_limit="2/hour"), clock=clock)
    enable_sms(app.extensions["luot"], build_world(app.extensions["luot"].db).site_id)
    yield app
    app.extensions["luot"].close()


def nested_body(phone: str, depth: int) -> str:
    return json.dumps({"phone": phone, "consent": True, "x": 0}).replace("0}", "[" * depth + "]" * depth + "}")


def codes_queued(app: Flask) -> int:
    with app.extensions["luot"].db.read() as session:
        return len(session.exec(select(OutboxMessage).where(OutboxMessage.kind == "otp")).all())


def test_a_deeply_nested_body_never_slips_past_the_code_limits(otp_app: Flask, caplog) -> None:
    """The phone's key read the body deeper in the stack than the view: at some depth the key's parse hit
    RecursionError, Flask-Limiter swallowed it and applied no limit, and the view (a few frames shallower) parsed
    the body and sent the code. Every depth the parser may or may not reach: never a code past the limit."""
    client = otp_app.test_client()
    for phone in ("0912000001", "0912000002"):
        assert client.post("/api/citizen/HN/otp", json={"phone": phone, "consent": True}).status_code == 202
    with caplog.at_level(logging.WARNING):
        statuses = {
            client.post(
                "/api/citizen/HN/otp", data=nested_body(f"0913{depth:06d}", depth), content_type="application/json"
            ).status_code
            for depth in range(400, 1100)
        }
    assert statuses <= {400, 429} and codes_queued(otp_app) == 2
    assert not [r for r in caplog.records if "Failed to rate limit" in r.getMessage()]


def test_a_body_too_deep_for_the_parser_is_a_400_with_the_reason(otp_app: Flask) -> None:
    client = otp_app.test_client()
    body = nested_body("0912000001", 100_000)
    answer = client.post("/api/citizen/HN/otp", data=body, content_type="application/json")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["messages"]["en"] == "The request body is not valid: JSON nested too deeply."
    assert codes_queued(otp_app) == 0


def test_no_rate_limit_key_function_raises(otp_app: Flask) -> None:
    """Each route limit's key, computed for a body the parser cannot read and a token that is not valid: a key
    (the limit applies), never an exception (Flask-Limiter would apply no limit)."""
    manager = limiter.limit_manager
    limits = [limit for route_limits in manager._decorated_limits.values() for limit in route_limits]
    assert len(limits) >= 4
    body = nested_body("0912000001", 100_000)
    for limit in limits:
        key_func = limit.key_function or limiter._key_func
        with otp_app.test_request_context(
            "/t/abc/notify", method="POST", data=body, content_type="application/json", headers=bearer("nope")
        ):
            assert isinstance(key_func(), str) and key_func(), key_func


def test_limits_still_apply_while_their_store_is_unreachable(settings: Settings, clock: ManualClock) -> None:
    """With the limits' store (Redis) unreachable, Flask-Limiter swallowed the error and every code was sent with
    no limit checked; now the same limits are counted in memory (its in-memory fallback): two codes from one
    address, then 429, and nothing more sent."""
    unreachable = dataclasses.replace(settings, message_queue="redis://127.0.0.1:1/0", otp_address_limit="2/hour")
    app = create_app(unreachable, clock=clock)
    try:
        enable_sms(app.extensions["luot"], build_world(app.extensions["luot"].db).site_id)
        client = app.test_client()
        answers = [
            client.post("/api/citizen/HN/otp", json={"phone": f"091200000{n}", "consent": True}).status_code
            for n in range(1, 5)
        ]
        assert answers == [202, 202, 429, 429], answers
        assert codes_queued(app) == 2
    finally:
        app.extensions["luot"].close()
