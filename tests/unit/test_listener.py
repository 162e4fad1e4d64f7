"""The server's listener turns Nagle's algorithm off on every connection it accepts (issue 13)."""

from __future__ import annotations

import socket

from server.listener import NoDelayListener, gevent_server


def test_accepted_connections_have_tcp_nodelay_and_the_rest_passes_through() -> None:
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen(1)
        listener = NoDelayListener(plain)
        assert listener.getsockname() == plain.getsockname()  # everything else is the wrapped socket's
        with socket.create_connection(listener.getsockname()) as _client:
            connection, _address = listener.accept()
            with connection:
                assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_a_plain_accept_leaves_nagle_on_so_the_test_above_can_fail() -> None:
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen(1)
        with socket.create_connection(plain.getsockname()):
            connection, _address = plain.accept()
            with connection:
                assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0


def test_the_gevent_server_turns_nagle_off_on_each_connection_it_hands_over() -> None:
    seen: list[int] = []

    class Recorder:  # stands in for the WSGI handler: what the connection looks like when it gets it
        def __init__(self, sock: socket.socket, _address: object, _server: object) -> None:
            self.sock = sock

        def handle(self) -> None:
            seen.append(self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = gevent_server(lambda environ, start: [], "127.0.0.1", 0, handler_class=Recorder, log=None)
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen(1)
        with socket.create_connection(plain.getsockname()):
            connection, address = plain.accept()
            with connection:
                server.handle(connection, address)
    assert seen == [1]
