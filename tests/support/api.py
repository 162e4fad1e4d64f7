"""Small helpers for calling the REST API from tests."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.support.world import PASSWORD


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def staff_token(client: FlaskClient, username: str) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def issue(client: FlaskClient, token: str, service: str, **body: Any) -> dict[str, Any]:
    headers = bearer(token)
    key = body.pop("key", None)
    if key:
        headers["Idempotency-Key"] = key
    response = client.post("/api/v1/tickets", json={"service": service, **body}, headers=headers)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def act(
    client: FlaskClient, token: str, counter_id: int, action: str, expect: int = 200, **body: Any
) -> dict[str, Any]:
    response = client.post(f"/api/v1/counters/{counter_id}/{action}", json=body, headers=bearer(token))
    assert response.status_code == expect, response.get_json()
    return response.get_json()
