"""The eventlet listening socket `luot serve` uses, with Nagle's algorithm off on every accepted connection.

Why: an answer written in two sends (headers, then a body over one segment) meets the client's delayed ACK
and waits up to 40 ms on Linux (RFC 1122 §4.2.3.2 allows 500 ms) when Nagle holds the second send back.
Turning on `TCP_NODELAY` per accepted socket removes that stall for keep-alive clients (clerk consoles,
kiosks). Flask-SocketIO's own `run()` gives no hook for it, so `serve_eventlet` does what `run()` does for
eventlet with this listener.

A request line longer than 8 KiB is refused by eventlet's or gevent's server itself, before the application
sees it, with a module constant: a bare 414 with an empty body (eventlet's `RESPONSE_414`, gevent's
`_REQUEST_TOO_LONG_RESPONSE`). `answer_long_addresses_in_json` sets that answer to the API's own error shape
(`json_refusal`), so an address too long gets the bilingual JSON error every other refusal has
(tests/integration/test_long_addresses.py fails if a new version renames them). Header lines over 8 KiB still
get the servers' bare 400, written inline.
"""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

from server.i18n import DEFAULT_LANGUAGE, both


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


def json_refusal(status: int, reason: str, code: str, message: str) -> bytes:
    """A whole HTTP/1.0 answer (status line, headers, body; the connection closes) in the API's error shape:
    {"error": {"code", "message" (Vietnamese: the request was never read, so no language was asked for),
    "messages": {"vi", "en"}}}."""
    messages = both(message)
    error = {"error": {"code": code, "message": messages[DEFAULT_LANGUAGE], "messages": messages}}
    body = json.dumps(error, ensure_ascii=False).encode()
    head = (
        f"HTTP/1.0 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def answer_long_addresses_in_json(async_mode: str) -> None:
    """Makes the `async_mode` server's own 414 (a request line over 8 KiB) a `json_refusal`; threading's server
    (werkzeug) has no such limit and needs nothing."""
    from server.errors_http import HTTP_MESSAGES

    refusal = json_refusal(414, "Request URI Too Long", *HTTP_MESSAGES[414])
    if async_mode == "eventlet":
        import eventlet.wsgi

        eventlet.wsgi.RESPONSE_414 = refusal
    elif async_mode == "gevent":
        import gevent.pywsgi

        gevent.pywsgi._REQUEST_TOO_LONG_RESPONSE = refusal


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
