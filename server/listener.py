"""The eventlet listening socket `luot serve` uses, with Nagle's algorithm off on every accepted connection.

Why: an answer written in two sends (headers, then a body over one segment) meets the client's delayed ACK
and waits up to 40 ms on Linux (RFC 1122 §4.2.3.2 allows 500 ms) when Nagle holds the second send back.
Turning on `TCP_NODELAY` per accepted socket removes that stall for keep-alive clients (clerk consoles,
kiosks). Flask-SocketIO's own `run()` gives no hook for it, so `serve_eventlet` does what `run()` does for
eventlet with this listener.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any


class NoDelayListener:
    """Wraps a listening (green) socket; `accept()` returns connections with `TCP_NODELAY` set."""

    def __init__(self, listener: Any) -> None:
        self._listener = listener

    def accept(self) -> tuple[Any, Any]:
        connection, address = self._listener.accept()
        with contextlib.suppress(OSError):  # a Unix socket or a connection already reset: nothing to tune
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def __getattr__(self, name: str) -> Any:
        return getattr(self._listener, name)


def serve_eventlet(app: Any, host: str, port: int, **kwargs: Any) -> None:
    """Serves `app` (Flask wrapped by Flask-SocketIO's middleware) with eventlet's WSGI server until stopped."""
    import eventlet
    import eventlet.green.socket
    import eventlet.wsgi

    addresses = eventlet.green.socket.getaddrinfo(host, port)
    if not addresses:
        raise RuntimeError(f"cannot resolve {host!r}")
    listener = eventlet.listen(addresses[0][4], addresses[0][0])
    eventlet.wsgi.server(NoDelayListener(listener), app, **kwargs)
