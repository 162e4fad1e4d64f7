"""Waiting for Socket.IO messages that a background task sends (the line's figures go out off the request)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]


def receive_until(client: Any, done: Callable[[list[Message]], bool], timeout: float = 10.0) -> list[Message]:
    """Everything `client` (a Flask-SocketIO test client) receives until `done(messages)` holds; fails after
    `timeout` seconds with what arrived. Polls the client's queue: a condition, not a guessed sleep."""
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    while True:
        messages += client.get_received()
        if done(messages):
            return messages
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting; received {[m['name'] for m in messages]}")
        time.sleep(0.005)


def named(name: str) -> Callable[[list[Message]], bool]:
    """`done` for `receive_until`: a message called `name` arrived."""
    return lambda messages: any(m["name"] == name for m in messages)
