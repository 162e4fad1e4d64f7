"""eventlet's WSGI server as `luot serve` runs it (`server.listener.serve_eventlet`), in a real process.

An exception that escapes the application (past Flask's own handlers: a middleware, an answer's iterator) must
reach the client as a bare 500, never with its traceback (eventlet's `debug` default sends it); header names go
out as the application wrote them.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from server.process import ROOT, free_port

_APP = """
import eventlet
eventlet.monkey_patch()
from server.listener import serve_eventlet

def app(environ, start_response):
    if environ["PATH_INFO"] == "/fails":
        raise RuntimeError("secret-detail-of-the-failure")
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-RateLimit-Limit", "5"), ("Content-Length", "2")])
    return [b"ok"]

serve_eventlet(app, "127.0.0.1", {port})
"""


@contextmanager
def served() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", _APP.replace("{port}", str(port))],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the test server did not start") from None
                time.sleep(0.05)  # polling a port that is not open yet: nothing to wait on instead
        yield port
    finally:
        process.kill()
        process.wait(10)


def _answer(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: lobby\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_an_exception_past_the_application_answers_500_without_its_traceback() -> None:
    with served() as port:
        answer = _answer(port, "/fails")
    assert answer.startswith(b"HTTP/1.1 500")
    assert b"Traceback" not in answer and b"secret-detail" not in answer


def test_header_names_go_out_as_the_application_wrote_them() -> None:
    with served() as port:
        answer = _answer(port, "/")
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nX-RateLimit-Limit: 5" in head  # eventlet's default re-capitalisation sends X-Ratelimit-Limit
