"""Rate-limit keys: a caller with an invalid token is counted per address, and computing its key never raises
(Flask-Limiter logged "Failed to rate limit" with a traceback per request, and limited nothing)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from server.app import create_app
from server.clock import ManualClock
from server.settings import Settings
from tests.support.api import bearer
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
