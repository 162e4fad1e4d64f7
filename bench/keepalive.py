"""A keep-alive HTTP client as light as the floors' own (`http.client`), for the timed requests.

The Flask floor is timed with `http.client`; timing Lượt's requests with `requests` added that library's own
work (about 0.5–1 ms a request on the bench machine, measured) to every figure compared with it, and on a 2-core
machine 36 client threads of it took CPU from the server being measured. `KeepAlive` offers the part of
`requests.Session`'s interface the benches use: `headers`, `get`, `post(json=…)`, and answers with
`status_code`, `text`, `json()` and `raise_for_status()`.
"""

from __future__ import annotations

import http.client
import json as jsonlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content) if self.content else None

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:200]}")


class KeepAlive:
    """One keep-alive connection to one server (reopened once if the server closed it)."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self._connection: http.client.HTTPConnection | None = None
        self._netloc = ""

    def get(self, url: str, headers: dict[str, str] | None = None, timeout: float = 60) -> Answer:
        return self._request("GET", url, None, headers, timeout)

    def post(self, url: str, json: Any = None, headers: dict[str, str] | None = None, timeout: float = 60) -> Answer:
        return self._request("POST", url, jsonlib.dumps(json).encode(), headers, timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> KeepAlive:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str] | None, timeout: float
    ) -> Answer:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {**self.headers, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self._connection is None or self._netloc != parts.netloc:
                self.close()
                self._connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
                self._netloc = parts.netloc
            try:
                self._connection.request(method, path, body=body, headers=sent)
                response = self._connection.getresponse()
                return Answer(response.status, response.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
