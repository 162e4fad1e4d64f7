"""The test suite's Socket.IO client hands events to its handlers in arrival order (tests/support/ordered_client)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio
from werkzeug.serving import make_server

from tests.support.ordered_client import OrderedClient

EVENTS = 200


@pytest.fixture
def numbering_server() -> Iterator[str]:
    """A Socket.IO server that sends 0 … EVENTS-1 back to back to each client that connects."""
    server = socketio.Server(async_mode="threading")

    @server.event
    def connect(sid: str, environ: dict[str, Any]) -> None:
        def burst() -> None:
            for n in range(EVENTS):
                server.emit("numbered", {"n": n}, to=sid)

        server.start_background_task(burst)

    http = make_server("127.0.0.1", 0, socketio.WSGIApp(server), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(10)


def _heard(
    client: socketio.Client,
    url: str,
    busy: Callable[[int], None],
    handled: Callable[[int], None] = lambda n: None,
) -> list[int]:
    """The numbers in the order the handler recorded them: `busy(n)` is the handler's work before it records n,
    `handled(n)` what it does after."""
    heard: list[int] = []
    done = threading.Event()

    def numbered(data: dict[str, Any]) -> None:
        busy(data["n"])
        heard.append(data["n"])
        handled(data["n"])
        if len(heard) == EVENTS:
            done.set()

    client.on("numbered", numbered)
    client.connect(url, transports=["websocket"], wait_timeout=10)
    try:
        assert done.wait(20), f"heard {len(heard)} of {EVENTS}"
    finally:
        client.disconnect()
    return heard


def _even_take_a_millisecond(n: int) -> None:
    """Work a real handler does (not a synchronisation): a later event's handler would overtake it side by side."""
    if n % 2 == 0:
        time.sleep(0.001)


def test_the_ordered_client_hands_events_over_in_arrival_order(numbering_server: str) -> None:
    heard = _heard(OrderedClient(reconnection=False), numbering_server, _even_take_a_millisecond)
    assert heard == list(range(EVENTS))


def test_the_librarys_client_can_swap_them_which_is_why_the_tests_do_not_use_it(numbering_server: str) -> None:
    """The library's client runs each handler in a thread of its own: while the handler of event 0 is still at
    work (here: until event 1 has been handled, bounded), the handler of event 1 runs and records first."""
    first_handled = threading.Event()

    def busy(n: int) -> None:
        if n == 0:
            first_handled.wait(10)  # event 0's handler still busy while event 1 arrives

    def handled(n: int) -> None:
        if n == 1:
            first_handled.set()

    heard = _heard(socketio.Client(reconnection=False), numbering_server, busy, handled)
    assert sorted(heard) == list(range(EVENTS)) and heard.index(1) < heard.index(0), heard[:5]
