"""The server's listeners turn Nagle's algorithm off on every connection they accept (issue 13)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from server.listener import NoDelayListener, gevent_server


@contextmanager
def accepted(wrap: Callable[[socket.socket], Any] = lambda plain: plain) -> Iterator[tuple[Any, socket.socket, Any]]:
    """(the listener as `wrap` makes it, a connection it accepted, the peer's address) on a real loopback socket."""
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen(1)
        listener = wrap(plain)
        with socket.create_connection(plain.getsockname()):
            connection, address = listener.accept()
            with connection:
                yield listener, connection, address


def _nodelay(connection: socket.socket) -> int:
    return connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_accepted_connections_have_tcp_nodelay_and_the_rest_passes_through() -> None:
    with accepted(NoDelayListener) as (listener, connection, _address):
        assert listener.getsockname() == listener._listener.getsockname()  # the rest is the wrapped socket's
        assert _nodelay(connection) == 1


def test_a_plain_accept_leaves_nagle_on_so_the_tests_here_can_fail() -> None:
    with accepted() as (_listener, connection, _address):
        assert _nodelay(connection) == 0


def test_the_gevent_server_turns_nagle_off_on_each_connection_it_hands_over() -> None:
    seen: list[int] = []

    class Recorder:  # stands in for the WSGI handler: what the connection looks like when it gets it
        def __init__(self, sock: socket.socket, _address: object, _server: object) -> None:
            self.sock = sock

        def handle(self) -> None:
            seen.append(_nodelay(self.sock))

    server = gevent_server(lambda environ, start: [], "127.0.0.1", 0, handler_class=Recorder, log=None)
    with accepted() as (_listener, connection, address):
        server.handle(connection, address)
    assert seen == [1]


def test_the_gevent_server_logs_no_raw_address(caplog) -> None:
    """gevent-websocket's handler logs each request line with its query (a board's token, a tracking link)."""
    from geventwebsocket.handler import WebSocketHandler

    handler_class = gevent_server(lambda environ, start: [], "127.0.0.1", 0, log=None).handler_class
    assert issubclass(handler_class, WebSocketHandler)  # websockets as before
    handler = handler_class.__new__(handler_class)  # no socket needed: what it would log is set here
    handler.status, handler.server = "200 OK", SimpleNamespace(logger=logging.getLogger("geventwebsocket.handler"))
    handler.format_request = lambda: "GET /display/?token=demo-board-hall HTTP/1.1"
    with caplog.at_level("DEBUG"):
        WebSocketHandler.log_request(handler)  # the library's own does log it (so the check below can fail)
    assert "token=" in caplog.text
    caplog.clear()
    with caplog.at_level("DEBUG"):
        handler.log_request()
    assert "token=" not in caplog.text
