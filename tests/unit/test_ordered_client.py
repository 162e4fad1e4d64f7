"""The test suite's Socket.IO client hands events to its handlers in arrival order (tests/support/ordered_client)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
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


def _heard(client: socketio.Client, url: str) -> list[int]:
    """The numbers in the order the handler recorded them; every even one takes the handler a millisecond first
    (work a real handler does), which lets a later event's handler overtake it if they run side by side."""
    heard: list[int] = []
    done = threading.Event()

    def numbered(data: dict[str, Any]) -> None:
        if data["n"] % 2 == 0:
            time.sleep(0.001)  # the handler's own work, not a synchronisation
        heard.append(data["n"])
        if len(heard) == EVENTS:
            done.set()

    client.on("numbered", numbered)
    client.connect(url, transports=["websocket"], wait_timeout=10)
    try:
        assert done.wait(20), f"heard {len(heard)} of {EVENTS}"
    finally:
        client.disconnect()
    return heard


def test_the_ordered_client_hands_events_over_in_arrival_order(numbering_server: str) -> None:
    assert _heard(OrderedClient(reconnection=False), numbering_server) == list(range(EVENTS))


def test_the_librarys_client_can_swap_them_which_is_why_the_tests_do_not_use_it(numbering_server: str) -> None:
    """The library's client runs each handler in a thread of its own: while the handler of event 0 is still at
    work (here: until event 1 has been handled, bounded), the handler of event 1 runs and records first."""
    heard: list[int] = []
    first_handled = threading.Event()
    done = threading.Event()

    def numbered(data: dict[str, Any]) -> None:
        if data["n"] == 0:
            first_handled.wait(10)  # event 0's handler still busy while event 1 arrives
        heard.append(data["n"])
        if data["n"] == 1:
            first_handled.set()
        if len(heard) == EVENTS:
            done.set()

    client = socketio.Client(reconnection=False)
    client.on("numbered", numbered)
    client.connect(numbering_server, transports=["websocket"], wait_timeout=10)
    try:
        assert done.wait(20), f"heard {len(heard)} of {EVENTS}"
    finally:
        client.disconnect()
    assert sorted(heard) == list(range(EVENTS)) and heard.index(1) < heard.index(0), heard[:5]
