"""A real local HTTP server standing in for Zalo ZNS and an SMS gateway: records every request, answers like the
provider (ZNS: ``{"error": 0, "data": {"msg_id": …}}``; SMS: ``{"id": …}``), and can be told to fail the next
requests with an HTTP status or to hold them unanswered until `release()` (a slow or hung gateway)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOLD_AT_MOST = 30.0  # a held request is answered after this long even if never released


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class Gateway:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.arrived = 0  # requests received, answered or not
        self._failures: list[int] = []
        self._holds = 0
        self._released = threading.Event()
        self._changed = threading.Condition()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                gateway._answer(self)

            def do_GET(self) -> None:
                gateway._answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._changed:
            self._failures.extend([status] * count)

    def hold_next(self, count: int) -> None:
        """The next `count` requests get no answer until `release()`."""
        with self._changed:
            self._holds += count
            self._released.clear()

    def release(self) -> None:
        self._released.set()

    def wait_for(self, count: int, timeout: float = 15.0, path: str = "") -> list[Recorded]:
        """Blocks until `count` requests (to paths starting with `path`) have been answered; TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.matching(path)) >= count, timeout):
                raise TimeoutError(f"{len(self.matching(path))} of {count} requests to {path!r}")
            return self.matching(path)

    def wait_arrived(self, count: int, timeout: float = 15.0) -> None:
        """Blocks until `count` requests have arrived (a held one included); TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.arrived >= count, timeout):
                raise TimeoutError(f"{self.arrived} of {count} requests arrived")

    def matching(self, path: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path)]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._changed:
            self.arrived += 1
            self._changed.notify_all()
            status = self._failures.pop(0) if self._failures else 200
            hold = self._holds > 0
            self._holds -= 1 if hold else 0
        if hold:
            self._released.wait(HOLD_AT_MOST)
        number = len(self.requests) + 1
        if status != 200:
            answer: dict[str, Any] = {"error": "stand-in failure"}
        elif handler.path.startswith("/zns"):
            answer = {"error": 0, "message": "Success", "data": {"msg_id": f"zns-{number}"}}
        else:
            answer = {"id": f"sms-{number}"}
        data = json.dumps(answer).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout)
        with self._changed:
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self.requests.append(Recorded(handler.command, handler.path, headers, body, status))
            self._changed.notify_all()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
