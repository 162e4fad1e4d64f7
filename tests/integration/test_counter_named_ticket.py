"""Counter actions naming their ticket (report H2, D4): a console that still shows citizen X while another console
of the same clerk has called Y must not finish Y, attach X's dossier code to Y, or call past Y. With `ticket_id`
the server refuses such an action with 409 `ticket_changed`, changing nothing; without it nothing is different.

Real app, real SQLite file; every answer is also checked against the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import col, func, select

from server.context import Luot
from server.domain import errors, rows
from server.domain.queueing import call_next, expecting_ticket, finish, issue_ticket, open_counter, start
from server.domain.vocabulary import TicketStatus
from server.models import Counter, Ticket, TicketDossier, TicketEvent
from tests.support.api import act, bearer, issue, staff_token
from tests.support.openapi_check import checked_client
from tests.support.world import World

#: Each action on the citizen at the counter, with a body it would succeed with on a called citizen.
ACTIONS: dict[str, dict[str, Any]] = {
    "start": {},
    "finish": {"dossiers": ["000.00.10.H12-X"]},
    "dossiers": {"dossiers": ["000.00.10.H12-X"]},
    "no-show": {},
    "recall": {},
    "hold": {"note": "photo"},
    "transfer": {"service": "TP-B"},
    "next": {},
}


@pytest.fixture
def client(app) -> FlaskClient:
    return checked_client(app.test_client())


@pytest.fixture
def clerk(client: FlaskClient, world: World) -> str:
    token = staff_token(client, "clerk1")
    act(client, token, world.counters["c1"], "open")
    return token


def post(client: FlaskClient, token: str, counter_id: int, action: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/counters/{counter_id}/{action}", json=body, headers=bearer(token))


def refusal(response: Any) -> dict[str, Any]:
    """The `ticket_changed` error of a 409 answer."""
    assert response.status_code == 409, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "ticket_changed", error
    return error


def recorded(luot: Luot) -> dict[str, Any]:
    """Everything an action may change: the tickets, their log and dossier codes, and the counters."""
    with luot.db.read() as session:
        return {
            "tickets": [t.model_dump() for t in session.exec(select(Ticket).order_by(col(Ticket.id)))],
            "events": session.exec(select(func.count()).select_from(TicketEvent)).one(),
            "dossiers": session.exec(select(func.count()).select_from(TicketDossier)).one(),
            "counters": [c.model_dump() for c in session.exec(select(Counter).order_by(col(Counter.id)))],
        }


def x_served_then_y_called_elsewhere(client: FlaskClient, world: World, clerk: str) -> tuple[dict, dict]:
    """X is called and started; then another console of the same clerk presses Call next (without naming a
    ticket): X is finished and Y is at the counter, called. Returns (X, Y) as issued."""
    c1 = world.counters["c1"]
    x, y = issue(client, world.kiosk_token, "TP-A"), issue(client, world.kiosk_token, "TP-A")
    assert act(client, clerk, c1, "next")["ticket"]["id"] == x["id"]
    act(client, clerk, c1, "start")
    assert act(client, clerk, c1, "next")["ticket"]["id"] == y["id"]  # console B
    return x, y


def test_the_reported_stale_dossier_and_finish_are_refused_and_y_stays_called(client, world, luot, clerk):
    c1 = world.counters["c1"]
    x, y = x_served_then_y_called_elsewhere(client, world, clerk)
    before = recorded(luot)
    dossiers = refusal(post(client, clerk, c1, "dossiers", {"ticket_id": x["id"], "dossiers": ["000.00.26.H12-X"]}))
    finished = refusal(post(client, clerk, c1, "finish", {"ticket_id": x["id"]}))
    assert recorded(luot) == before
    assert dossiers == finished
    assert dossiers["messages"] == {
        "vi": f"Quầy vừa thay đổi: số {y['display_number']} đang ở quầy. Thao tác chưa được thực hiện; hãy kiểm tra "
        "lại rồi thử lại.",
        "en": f"The counter has changed meanwhile: number {y['display_number']} is at it now. Nothing was done; check "
        "and try again.",
    }
    with luot.db.read() as session:
        assert session.get(Ticket, y["id"]).status == "called"
        assert session.exec(select(TicketDossier)).all() == []


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_naming_a_ticket_no_longer_at_the_counter_changes_nothing(action, client, world, luot, clerk):
    x, _y = x_served_then_y_called_elsewhere(client, world, clerk)
    before = recorded(luot)
    refusal(post(client, clerk, world.counters["c1"], action, {"ticket_id": x["id"], **ACTIONS[action]}))
    assert recorded(luot) == before


@pytest.mark.parametrize("action", [a for a in ACTIONS if a != "next"])  # next refuses a called citizen anyway
def test_every_action_naming_the_ticket_at_the_counter_acts_on_it(action, client, world, luot, clerk):
    _x, y = x_served_then_y_called_elsewhere(client, world, clerk)
    answer = act(client, clerk, world.counters["c1"], action, ticket_id=y["id"], **ACTIONS[action])
    assert answer["ticket"]["id"] == y["id"]


def test_call_next_naming_the_citizen_served_refuses_once_another_console_moved_on(client, world, luot, clerk):
    c1 = world.counters["c1"]
    x, y = x_served_then_y_called_elsewhere(client, world, clerk)
    act(client, clerk, c1, "start", ticket_id=y["id"])
    z = issue(client, world.kiosk_token, "TP-A")
    refusal(post(client, clerk, c1, "next", {"ticket_id": x["id"]}))  # a stale console: Y would be finished unseen
    nobody = refusal(post(client, clerk, c1, "next", {"ticket_id": None}))  # one that shows nobody at the counter
    assert y["display_number"] in nobody["messages"]["vi"]
    with luot.db.read() as session:
        assert session.get(Ticket, y["id"]).status == "serving"
    assert act(client, clerk, c1, "next", ticket_id=y["id"])["ticket"]["id"] == z["id"]


def test_call_next_naming_nobody_calls_when_nobody_is_at_the_counter(client, world, clerk):
    c1 = world.counters["c1"]
    x = issue(client, world.kiosk_token, "TP-A")
    assert act(client, clerk, c1, "next", ticket_id=None)["ticket"]["id"] == x["id"]
    act(client, clerk, c1, "finish", ticket_id=x["id"])
    late = refusal(post(client, clerk, c1, "finish", {"ticket_id": x["id"]}))  # a second console's Finish
    assert late["messages"]["en"].startswith("The counter has changed meanwhile: nobody is at it now.")
    assert late["messages"]["vi"].startswith("Quầy vừa thay đổi: hiện không có công dân nào ở quầy.")


def test_without_a_ticket_id_an_action_acts_on_whoever_is_at_the_counter_as_before(client, world, clerk):
    _x, y = x_served_then_y_called_elsewhere(client, world, clerk)
    assert act(client, clerk, world.counters["c1"], "finish")["ticket"]["id"] == y["id"]


def test_another_clerk_naming_a_ticket_learns_only_that_the_counter_is_not_theirs(client, world, clerk):
    x = issue(client, world.kiosk_token, "TP-A")
    act(client, clerk, world.counters["c1"], "next")
    other = staff_token(client, "clerk2")
    answer = post(client, other, world.counters["c1"], "finish", {"ticket_id": x["id"] + 1})
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "wrong_counter"


def test_a_ticket_id_that_is_not_an_id_is_a_400(client, world, clerk):
    for bad in (0, "7", True, 7.0, [1]):
        answer = post(client, clerk, world.counters["c1"], "finish", {"ticket_id": bad})
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "invalid_body"


def test_a_body_of_null_is_json_but_not_an_object(client, world, clerk):
    """`null` parses: it is refused as "expected a JSON object", as `[]` and `"x"` are, not as malformed JSON."""
    for raw in ("null", " null ", "[]", '"x"'):
        answer = client.post(
            f"/api/v1/counters/{world.counters['c1']}/next",
            data=raw,
            headers={**bearer(clerk), "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, raw
        assert answer.get_json()["error"]["messages"]["en"].endswith("expected a JSON object."), answer.get_json()
    broken = client.post(
        f"/api/v1/counters/{world.counters['c1']}/next",
        data="nul",
        headers={**bearer(clerk), "Content-Type": "application/json"},
    )
    assert broken.get_json()["error"]["messages"]["en"].endswith("malformed JSON.")


def test_the_use_case_checks_the_named_ticket_in_its_own_transaction(luot, world):
    """The domain's own guard, without HTTP: `expecting_ticket(finish)` keeps finish's name for the Runner."""
    c1, clerk1 = world.counters["c1"], world.users["clerk1"]
    luot.run(open_counter, c1, clerk1)
    x = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    y = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    luot.run(call_next, c1, clerk1)
    assert expecting_ticket(finish).__name__ == "finish" and expecting_ticket(finish) is expecting_ticket(finish)
    with pytest.raises(errors.TicketChanged) as refused:
        luot.run(expecting_ticket(finish), c1, clerk1, ticket_id=y.id)
    assert refused.value.params == {"number": x.display_number}
    assert luot.run(expecting_ticket(finish), c1, clerk1, ticket_id=x.id).ticket.id == x.id
    assert luot.run(expecting_ticket(call_next), c1, clerk1, ticket_id=None).ticket.id == y.id


def test_the_openapi_document_offers_ticket_id_on_every_action_at_the_counter(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for action in ACTIONS:
        operation = paths[f"/api/v1/counters/{{counter_id}}/{action}"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert "ticket_id" in schema["properties"], action
        assert "ticket_changed" in operation["summary"], action


@pytest.fixture
def counter_reads(monkeypatch) -> list[int]:
    """The counters read by `rows.counter_with_ticket` (the real read, counted as it passes)."""
    reads: list[int] = []
    real = rows.counter_with_ticket

    def counted(connection: Any, counter_id: int) -> Any:
        reads.append(counter_id)
        return real(connection, counter_id)

    monkeypatch.setattr(rows, "counter_with_ticket", counted)
    return reads


def test_call_next_and_start_take_the_checks_read_instead_of_reading_again(luot, world, counter_reads):
    """The console names its ticket on every key press: the check's read of the counter and its citizen serves the
    use case too (issue 13), one read per press, and the press does what it did."""
    c1, clerk1 = world.counters["c1"], world.users["clerk1"]
    luot.run(open_counter, c1, clerk1)
    x = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    y = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    counter_reads.clear()
    assert luot.run(expecting_ticket(call_next), c1, clerk1, ticket_id=None).ticket.id == x.id
    assert counter_reads == [c1]
    assert luot.run(expecting_ticket(start), c1, clerk1, ticket_id=x.id).ticket.status == TicketStatus.SERVING
    assert counter_reads == [c1, c1]
    called = luot.run(expecting_ticket(call_next), c1, clerk1, ticket_id=x.id)
    assert called.ticket.id == y.id and counter_reads == [c1, c1, c1]
    with luot.db.read() as session:
        assert session.get(Ticket, x.id).status == TicketStatus.DONE  # the citizen served was finished by the press


def test_a_kept_read_serves_only_the_use_case_it_was_read_for(luot, world, clock, counter_reads):
    """A use case that does not take the check's read (finish) leaves none behind: a call next after it in the
    same session reads the counter as the finish left it, not as the check saw it."""
    c1, clerk1 = world.counters["c1"], world.users["clerk1"]
    luot.run(open_counter, c1, clerk1)
    x = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    y = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    luot.run(call_next, c1, clerk1)
    with luot.db.write() as session:
        finished = expecting_ticket(finish)(session, clock.now(), c1, clerk1, ticket_id=x.id)
        assert finished.ticket.id == x.id
        counter_reads.clear()
        called = call_next(session, clock.now(), c1, clerk1)
        assert called.ticket.id == y.id and counter_reads == [c1]
        assert [type(event).__name__ for event in called.events] == ["TicketCalled", "CounterChanged"]
