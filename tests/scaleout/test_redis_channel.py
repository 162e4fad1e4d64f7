"""Socket.IO's messages go out on `luot:<database number>`: Redis pub/sub ignores database numbers, so two
deployments sharing one Redis server on different databases must not share a channel."""

from __future__ import annotations

import dataclasses
import time

import pytest
import redis

from server.app import create_app, socketio_of
from server.settings import load_settings
from tests.scaleout.conftest import redis_url

pytestmark = pytest.mark.scaleout


def test_the_channel_follows_the_redis_database():
    def channel(queue: str) -> str:
        return load_settings(environ={"LUOT_MESSAGE_QUEUE": queue}).message_queue_channel

    assert channel("redis://127.0.0.1:6379/3") == "luot:3"
    assert channel("redis://127.0.0.1:6379/3?socket_timeout=1") == "luot:3"
    assert channel("redis://127.0.0.1:6379") == channel("redis://127.0.0.1:6379/0") == "luot:0"


def test_events_are_published_on_the_deployments_own_channel(settings, clock, redis_db):
    app = create_app(dataclasses.replace(settings, message_queue=redis_url(redis_db)), clock=clock)
    listener = redis.Redis.from_url(redis_url(redis_db), socket_timeout=10)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    other = (redis_db + 1) % 16
    pubsub.subscribe("flask-socketio", f"luot:{other}", f"luot:{redis_db}")
    try:
        socketio_of(app).emit("ticket.called", {"display_number": "1001"}, to="site:1")
        deadline = time.monotonic() + 10
        message = None
        while message is None and time.monotonic() < deadline:  # None also stands for a skipped "subscribe"
            message = pubsub.get_message(timeout=1)
        assert message is not None and message["channel"] == f"luot:{redis_db}".encode()
        assert b"1001" in message["data"]
    finally:
        pubsub.close()
        listener.close()
        app.extensions["luot"].close()
