"""Issue 14, item 19: the OpenAPI document gives a schema for every 2xx answer, with enums and examples, and
real answers validate against it (the API contract and flow tests check each answer with checked_client)."""

from __future__ import annotations

import pytest

from server.api.openapi import document
from server.domain.vocabulary import RatingScore, TicketStatus
from tests.support.api import bearer, issue, staff_token
from tests.support.openapi_check import check_answer, checked_client


def test_every_success_answer_has_a_schema() -> None:
    missing = [
        f"{method.upper()} {path} {code}"
        for path, methods in document()["paths"].items()
        for method, operation in methods.items()
        for code, response in operation["responses"].items()
        if code.startswith("2") and "schema" not in response.get("content", {}).get("application/json", {})
    ]
    assert not missing


def test_statuses_priorities_scores_and_error_codes_are_enums_with_examples() -> None:
    schemas = document()["components"]["schemas"]
    assert set(schemas["TicketStatus"]["enum"]) == {str(s) for s in TicketStatus}
    assert set(schemas["RatingScore"]["enum"]) == {str(s) for s in RatingScore}
    assert "elderly" in schemas["Priority"]["anyOf"][0]["enum"]
    codes = schemas["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert {"bad_credentials", "sign_in_throttled", "csrf_failed", "not_found", "counter_taken"} <= set(codes)
    for name in ("PublicTicket", "Counter", "IssuedTicket", "User", "Error"):
        assert schemas[name].get("examples"), name


def test_real_answers_validate_and_a_wrong_one_does_not(app, world) -> None:
    client = checked_client(app.test_client())
    clerk = staff_token(client, "clerk1")
    ticket = issue(client, world.kiosk_token, "TP-A")
    client.get(f"/api/v1/tickets/{ticket['tracking_token']}")
    counter = world.counters["c1"]
    for action in ("open", "next", "start", "finish"):
        assert client.post(f"/api/v1/counters/{counter}/{action}", json={}, headers=bearer(clerk)).status_code == 200
    client.post(f"/api/v1/tickets/{ticket['id']}/rating", json={"score": "satisfied"}, headers=bearer(clerk))
    client.get(f"/api/v1/counters/{counter}", headers=bearer(clerk))
    client.get("/api/v1/auth/tokens", headers=bearer(clerk))
    client.get("/api/v1/services?site=HN")
    client.get("/healthz")
    client.post("/api/v1/auth/token", json={"username": "clerk1", "password": "wrong"})
    assert len({path for _m, path, _s in client.checked}) >= 10
    with pytest.raises(AssertionError, match="breaks the OpenAPI schema"):
        check_answer("GET", f"/api/v1/tickets/{ticket['tracking_token']}", 200, {"status": "lost"})
