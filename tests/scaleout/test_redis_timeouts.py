"""A hung Redis (it accepts connections and never answers) fails requests within LUOT_REDIS_TIMEOUT,
for each Redis client of the app: the rate limiter, the shared event sequence and the Socket.IO queue.

An idle Socket.IO subscription is no hang: it must outlive the timeout (a real Redis is used for that).
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask_socketio import SocketIO

from server.app import create_app, socketio_of
from server.runner import StorageUnavailable
from server.settings import Settings, load_settings
from tests.scaleout.conftest import redis_url
from tests.support.world import build_world

pytestmark = pytest.mark.scaleout

TIMEOUT = 0.5
BOUND = 2.5  # seconds: the timeout, with room for the Socket.IO queue's one retry and a slow machine


@pytest.fixture
def hung_redis() -> Iterator[str]:
    """A Redis URL whose server completes TCP handshakes (the kernel's backlog) but never replies."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


def _timed(call: Callable[[], Any], limit: float = 30) -> tuple[float, Any]:
    """(seconds, result or raised exception) of `call`; fails instead of hanging when it takes over `limit`."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # the outcome under test
            outcome.append(exc)

    start = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    assert outcome, f"still waiting for Redis after {limit}s"
    return time.monotonic() - start, outcome[0]


def _hung_settings(settings: Settings, url: str) -> Settings:
    return dataclasses.replace(settings, message_queue=url, redis_timeout=TIMEOUT)


def test_a_ticket_request_gets_a_503_within_the_timeout(settings, clock, hung_redis):
    app = create_app(_hung_settings(settings, hung_redis), clock=clock)
    world = build_world(app.extensions["luot"].db)
    client = app.test_client()
    seconds, response = _timed(
        lambda: client.post(
            "/api/v1/tickets", json={"service": "TP-A"}, headers={"Authorization": f"Bearer {world.kiosk_token}"}
        )
    )
    assert response.status_code == 503 and response.json["error"]["code"] == "storage_unavailable"
    assert seconds < BOUND
    app.extensions["luot"].close()


def test_the_shared_sequence_refuses_a_write_within_the_timeout(settings, clock, hung_redis):
    app = create_app(_hung_settings(settings, hung_redis), clock=clock)
    seconds, outcome = _timed(app.extensions["luot"].hub.ready)
    assert isinstance(outcome, StorageUnavailable)
    assert seconds < BOUND
    app.extensions["luot"].close()


def test_a_socketio_emit_gives_up_within_the_timeout(settings, clock, hung_redis):
    hung = _hung_settings(settings, hung_redis)
    app = create_app(hung, clock=clock)
    assert socketio_of(app).server.manager.redis_url == hung.message_queue_url  # the app's queue, as below
    # A write-only emitter on the same URL: the app's own manager would also start a listener thread that
    # outlives the test; publishing is the same code either way.
    emitter = SocketIO(message_queue=hung.message_queue_url, async_mode="threading")
    seconds, outcome = _timed(lambda: emitter.emit("ticket.called", {"seq": 1}, to="site:1"))
    assert not isinstance(outcome, Exception)  # python-socketio logs and gives up after two attempts
    assert seconds < BOUND
    app.extensions["luot"].close()


def test_an_idle_subscription_outlives_the_socket_timeout(redis_db):
    """Socket.IO's queue listener blocks on an idle channel; a read timeout there would drop messages."""
    url = load_settings(environ={}, message_queue=redis_url(redis_db), redis_timeout=0.2).message_queue_url
    channel = f"luot-test-{secrets.token_hex(4)}"
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    heard: list[Any] = []

    def listen() -> None:
        try:
            heard.append(next(iter(pubsub.listen()))["data"])
        except Exception as exc:
            heard.append(exc)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    listener.join(1.0)  # five socket timeouts of silence: the condition under test, not a synchronisation
    assert listener.is_alive() and not heard, heard
    client.publish(channel, b"after the silence")
    listener.join(10)
    assert heard == [b"after the silence"]
    pubsub.close()
    client.close()
