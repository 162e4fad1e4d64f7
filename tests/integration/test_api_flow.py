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


def test_every_clerk_action_answers_the_counter_as_the_line_then_shows_it(client, world):
    """An action answers with the counter as it left it, taken from its own outcome when that says all of it
    (issue 13: the line learns the commit after the answer); the counter's own page, read from the line after,
    agrees field for field, whoever is at the counter."""
    clerk = staff_token(client, "clerk1")
    counter_id = world.counters["c1"]
    for _ in range(3):
        issue(client, world.kiosk_token, "TP-A")

    def agrees(answer: dict) -> None:
        shown = client.get(f"/api/v1/counters/{counter_id}", headers=bearer(clerk)).get_json()["counter"]
        assert answer["counter"] == {k: v for k, v in shown.items() if k not in ("waiting", "held")}

    steps = [
        ("open", {}),
        ("next", {}),  # a call: the counter's change and the ticket called
        ("recall", {}),
        ("no-show", {}),  # the counter freed
        ("next", {}),
        ("start", {}),
        ("pause", {"reason": "họp giao ban"}),
        ("resume", {}),
        ("next", {}),  # finishes the citizen served, calls the last one
        ("start", {}),
        ("next", {}),  # finishes, nobody left: the answer says so
    ]
    for action, body in steps:
        agrees(act(client, clerk, counter_id, action, **body))
