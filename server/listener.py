"""The eventlet and gevent servers `luot serve` runs, with Nagle's algorithm off on every accepted connection.

Why: an answer written in two sends (headers, then a body over one segment) meets the client's delayed ACK
and waits up to 40 ms on Linux (RFC 1122 §4.2.3.2 allows 500 ms) when Nagle holds the second send back.
Turning on `TCP_NODELAY` per accepted socket removes that stall for keep-alive clients (clerk consoles,
kiosks). Flask-SocketIO's own `run()` gives no hook for it, so `serve_eventlet` and `serve_gevent` do what
`run()` does for eventlet and gevent, with Nagle off (gevent's server accepts on its own: `gevent_server` turns it
off as each connection is handed over).

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


def no_delay(connection: Any) -> None:
    """Turns Nagle's algorithm off on an accepted connection (a Unix socket or one already reset: left as is)."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayListener:
    """Wraps a listening (green) socket; `accept()` returns connections with `TCP_NODELAY` set."""

    def __init__(self, listener: Any) -> None:
        self._listener = listener

    def accept(self) -> tuple[Any, Any]:
        connection, address = self._listener.accept()
        no_delay(connection)
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
    """Serves `app` (Flask wrapped by Flask-SocketIO's middleware) with eventlet's WSGI server until stopped.

    Unless `kwargs` say otherwise: `debug` off (eventlet's default answers an exception that escapes the
    application with its traceback, to the client), and the header names sent as the application wrote them
    (eventlet's default re-capitalises each name of every answer, about 2 µs a header; Werkzeug and Lượt write
    them in their usual case already, and HTTP header names are case-insensitive, RFC 9110 §5.1)."""
    kwargs.setdefault("debug", False)
    kwargs.setdefault("capitalize_response_headers", False)
    import eventlet
    import eventlet.green.socket
    import eventlet.wsgi

    addresses = eventlet.green.socket.getaddrinfo(host, port)
    if not addresses:
        raise RuntimeError(f"cannot resolve {host!r}")
    listener = eventlet.listen(addresses[0][4], addresses[0][0])
    eventlet.wsgi.server(NoDelayListener(listener), app, **kwargs)


def gevent_server(app: Any, host: str, port: int, **kwargs: Any) -> Any:
    """gevent's WSGI server for `app` as Flask-SocketIO's `run()` builds it (gevent-websocket's handler when it is
    installed), turning Nagle's algorithm off on each connection it accepts. Not started."""
    from gevent import pywsgi

    try:
        from geventwebsocket.handler import WebSocketHandler  # type: ignore[import-untyped]

        class QuietHandler(WebSocketHandler):
            def log_request(self) -> None:
                """Nothing: gevent-websocket logs every raw address (a board's `?token=`, a citizen's tracking
                link) even with `log=None`; requests are logged by route, without them (`server.ops.logs`)."""

        kwargs.setdefault("handler_class", QuietHandler)
    except ImportError:  # websockets then come from simple-websocket, as in Flask-SocketIO's run()
        pass

    class NoDelayServer(pywsgi.WSGIServer):
        def handle(self, sock: Any, address: Any) -> None:
            no_delay(sock)
            super().handle(sock, address)

    return NoDelayServer((host, port), app, **kwargs)


def serve_gevent(socketio: Any, app: Any, host: str, port: int, **kwargs: Any) -> None:
    """Serves `app` with `gevent_server` until stopped (`socketio.stop()` stops it, as after `run()`)."""
    kwargs.setdefault("log", None if kwargs.pop("log_output", True) is False else "default")
    server = gevent_server(app, host, port, **kwargs)
    socketio.wsgi_server = server
    server.serve_forever()
