"""The main path through the REST API: issue, open a counter, call, start, finish, rate, track."""

from __future__ import annotations

import pytest

from tests.support.api import act, bearer, issue, staff_token
from tests.support.openapi_check import checked_client


@pytest.fixture
def client(app):
    """Every answer of these tests is also checked against the OpenAPI document (issue 14, item 19)."""
    return checked_client(app.test_client())


def test_a_ticket_goes_from_kiosk_to_counter_to_rating(client, world):
    ticket = issue(client, world.kiosk_token, "TP-A")
    assert ticket["display_number"] == "1001"
    assert ticket["waiting_ahead"] == 0
    assert ticket["tracking_url"].endswith(ticket["tracking_token"])
    clerk = staff_token(client, "clerk1")
    act(client, clerk, world.counters["c1"], "open")
    called = act(client, clerk, world.counters["c1"], "next")
    assert called["ticket"]["id"] == ticket["id"]
    assert called["ticket"]["status"] == "called"
    act(client, clerk, world.counters["c1"], "start")
    finished = act(client, clerk, world.counters["c1"], "finish")
    assert finished["ticket"]["status"] == "done"
    rating = client.post(
        f"/api/v1/tickets/{ticket['id']}/rating", json={"score": "very_satisfied"}, headers=bearer(world.rating_token)
    )
    assert rating.status_code == 201, rating.get_json()
    tracked = client.get(f"/api/v1/tickets/{ticket['tracking_token']}").get_json()
    assert tracked["status"] == "done" and tracked["rated"] is True and tracked["can_rate"] is False
