"""Helpers for tests that drive real server processes (server.process.ServerProcess): a REST caller over one
keep-alive session, and a Socket.IO listener that queues what it hears."""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

import requests

from tests.support.ordered_client import OrderedClient
from tests.support.world import PASSWORD

ROOT = Path(__file__).parents[2]


class Api:
    """The REST API of one server, through one keep-alive HTTP session."""

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url
        self.token = token
        self.http = requests.Session()

    def post(
        self,
        path: str,
        body: dict | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> requests.Response:
        token = token if token is not None else self.token
        return self.http.post(
            f"{self.url}/api/v1{path}",
            json=body or {},
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
        )

    def get(self, path: str, timeout: float = 10) -> requests.Response:
        return self.http.get(f"{self.url}/api/v1{path}", timeout=timeout)

    def ok(self, path: str, body: dict | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.post(path, body, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def login(self, username: str) -> str:
        response = self.http.post(
            f"{self.url}/api/v1/auth/token", timeout=10, json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def close(self) -> None:
        self.http.close()


class Listener:
    """A Socket.IO client that puts every event it receives on a queue per event name."""

    def __init__(
        self,
        url: str,
        auth: dict[str, str],
        names: tuple[str, ...] = ("snapshot", "ticket.called"),
        transports: list[str] | None = None,
    ) -> None:
        self.client = OrderedClient(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        self.events: dict[str, queue.Queue] = {name: queue.Queue() for name in names}
        for name in names:
            self.client.on(name, self.events[name].put)
        self.client.connect(url, auth=auth, transports=transports, wait_timeout=10)

    def next(self, name: str, timeout: float = 10) -> dict[str, Any]:
        return self.events[name].get(timeout=timeout)

    def wait_for(self, name: str, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        """The first `name` event that satisfies `predicate` (others are dropped)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching {name} event within {timeout}s")
            event = self.events[name].get(timeout=remaining)
            if predicate(event):
                return event

    def close(self) -> None:
        self.client.disconnect()
