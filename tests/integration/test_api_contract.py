"""The REST contract outside clients rely on, including the 4xx answers to bad input."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from server.clock import LOCAL_TZ
from server.models import Device, Ticket
from tests.support.api import act, bearer, issue, staff_token
from tests.support.openapi_check import checked_client
from tests.support.world import PASSWORD


@pytest.fixture
def client(app):
    """Every answer of these tests is also checked against the OpenAPI document (issue 14, item 19)."""
    return checked_client(app.test_client())


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body["error"]) == {"code", "message", "messages"}
    assert body["error"]["messages"]["vi"] and body["error"]["messages"]["en"]
    return body["error"]


def test_healthz_answers(client):
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_services_lists_agencies_with_waiting_counts_and_estimates(client, world):
    issue(client, world.kiosk_token, "TP-A")
    body = client.get("/api/v1/services?site=HN").get_json()
    assert [a["code"] for a in body["agencies"]] == ["TP", "CA"]
    tp_a = body["agencies"][0]["services"][0]
    assert (tp_a["code"], tp_a["waiting"], tp_a["available"]) == ("TP-A", 1, True)
    assert "estimated_wait_minutes" in tp_a
    capped = body["agencies"][1]["services"][1]
    assert capped["remaining_today"] == 2


def test_an_unknown_site_is_a_404_in_both_languages(client):
    error = error_of(client.get("/api/v1/services?site=NOPE"), 404)
    assert error["code"] == "unknown_site"
    assert error["message"] == error["messages"]["vi"] == "Không tìm thấy điểm phục vụ: NOPE."


def test_issue_answers_with_the_documented_fields(client, world):
    response = client.post("/api/v1/tickets", json={"service": "CA-X"}, headers=bearer(world.kiosk_token))
    assert response.status_code == 201
    body = response.get_json()
    for field in (
        "id",
        "number",
        "display_number",
        "service",
        "agency",
        "site",
        "status",
        "issued_at",
        "waiting_ahead",
        "estimated_wait_minutes",
        "tracking_token",
        "tracking_url",
    ):
        assert field in body, field
    assert body["display_number"] == "A001" and body["status"] == "waiting"
    assert body["agency"]["name"] == "Công an tỉnh"


def test_a_double_tap_with_one_idempotency_key_gives_one_ticket(client, world):
    headers = {**bearer(world.kiosk_token), "Idempotency-Key": "tap-7"}
    first = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=headers)
    second = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"service": "NOPE"}, 404, "unknown_service"),
        ({}, 400, "invalid_body"),
        ({"service": 12}, 400, "invalid_body"),
        ({"service": "TP-A", "priority": "vip"}, 400, "invalid_priority"),
        ({"appointment": "HEN-0"}, 404, "unknown_appointment"),
    ],
)
def test_bad_issue_requests_get_a_clear_4xx(client, world, body, status, code):
    response = client.post("/api/v1/tickets", json=body, headers=bearer(world.kiosk_token))
    assert error_of(response, status)["code"] == code


def test_malformed_json_is_a_400_not_a_500(client, world):
    response = client.post(
        "/api/v1/tickets", data="{not json", content_type="application/json", headers=bearer(world.kiosk_token)
    )
    assert error_of(response, 400)["code"] == "invalid_body"
    response = client.post(
        "/api/v1/tickets", data="service=TP-A", content_type="text/plain", headers=bearer(world.kiosk_token)
    )
    assert error_of(response, 400)["code"] == "invalid_body"


def test_a_closed_service_and_a_reached_cap_are_409s(client, world, clock):
    issue(client, world.kiosk_token, "CA-Y")
    issue(client, world.kiosk_token, "CA-Y")
    capped = client.post("/api/v1/tickets", json={"service": "CA-Y"}, headers=bearer(world.kiosk_token))
    assert error_of(capped, 409)["code"] == "daily_cap_reached"
    clock.set(datetime(2026, 11, 22, 9, 0, tzinfo=LOCAL_TZ))  # Sunday
    closed = client.post("/api/v1/tickets", json={"service": "CA-Y"}, headers=bearer(world.kiosk_token))
    assert error_of(closed, 409)["code"] == "service_closed"


def test_missing_wrong_and_revoked_tokens_are_refused(client, world, luot):
    assert error_of(client.post("/api/v1/tickets", json={"service": "TP-A"}), 401)["code"] == "unauthorized"
    wrong = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer("nope"))
    assert error_of(wrong, 401)["code"] == "unauthorized"
    board = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(world.board_token))
    assert error_of(board, 403)["code"] == "forbidden"
    with luot.db.write() as s:
        for device in s.exec(select(Device).where(Device.kind == "kiosk")):
            device.revoked = True
            s.add(device)
    revoked = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(world.kiosk_token))
    assert error_of(revoked, 401)["code"] == "unauthorized"


def test_only_the_clerk_of_a_counter_may_act_on_it(client, world):
    clerk1, clerk2 = staff_token(client, "clerk1"), staff_token(client, "clerk2")
    act(client, clerk1, world.counters["c1"], "open")
    error = error_of(client.post(f"/api/v1/counters/{world.counters['c1']}/next", headers=bearer(clerk2)), 403)
    assert error["code"] == "wrong_counter"
    taken = client.post(f"/api/v1/counters/{world.counters['c1']}/open", json={}, headers=bearer(clerk2))
    assert error_of(taken, 409)["code"] == "counter_taken"
    assert error_of(client.post("/api/v1/counters/999/next", headers=bearer(clerk1)), 404)["code"] == "unknown_counter"
    nobody = client.post(f"/api/v1/counters/{world.counters['c1']}/next", headers=bearer(clerk1))
    assert error_of(nobody, 409)["code"] == "no_ticket_waiting"


def test_call_next_with_nobody_left_finishes_the_served_citizen_and_says_so(client, world, luot):
    clerk = staff_token(client, "clerk1")
    c1 = world.counters["c1"]
    served = issue(client, world.kiosk_token, "TP-A")
    act(client, clerk, c1, "open")
    act(client, clerk, c1, "next")
    act(client, clerk, c1, "start")
    answer = act(client, clerk, c1, "next")  # 200, not an error: the finish was recorded
    assert answer["ticket"] is None and answer["finished"]["id"] == served["id"]
    assert answer["finished"]["status"] == "done" and answer["counter"]["current"] is None
    assert answer["notice"]["code"] == "no_ticket_waiting"
    assert answer["notice"]["messages"]["vi"] == "Hiện không có công dân nào chờ tại quầy này."
    with luot.db.read() as session:
        assert session.get(Ticket, served["id"]).status == "done"
    nobody = client.post(f"/api/v1/counters/{c1}/next", headers=bearer(clerk))  # nothing done: an error
    assert error_of(nobody, 409)["code"] == "no_ticket_waiting"


def test_every_counter_action_works_through_the_api(client, world):
    clerk = staff_token(client, "clerk1")
    c1 = world.counters["c1"]
    first = issue(client, world.kiosk_token, "TP-A")
    issue(client, world.kiosk_token, "TP-B")
    act(client, clerk, c1, "open")
    assert act(client, clerk, c1, "next")["ticket"]["id"] == first["id"]
    assert act(client, clerk, c1, "recall")["ticket"]["recall_count"] == 1
    assert act(client, clerk, c1, "hold", note="photo")["ticket"]["status"] == "held"
    returned = client.post(f"/api/v1/tickets/{first['id']}/return", headers=bearer(clerk))
    assert returned.status_code == 200 and returned.get_json()["ticket"]["status"] == "waiting"
    act(client, clerk, c1, "next")
    assert act(client, clerk, c1, "transfer", service="CA-X")["ticket"]["status"] == "waiting"
    act(client, clerk, c1, "next")
    assert act(client, clerk, c1, "no-show")["ticket"]["status"] == "no_show"
    assert act(client, clerk, c1, "pause", reason="nghỉ trưa")["counter"]["status"] == "paused"
    assert act(client, clerk, c1, "resume")["counter"]["status"] == "open"
    state = client.get(f"/api/v1/counters/{c1}", headers=bearer(clerk)).get_json()["counter"]
    assert state["waiting"] == [] and state["current"] is None
    assert act(client, clerk, c1, "close")["counter"]["status"] == "closed"


def test_transfer_to_an_unknown_service_is_a_404(client, world):
    clerk = staff_token(client, "clerk1")
    issue(client, world.kiosk_token, "TP-A")
    act(client, clerk, world.counters["c1"], "open")
    act(client, clerk, world.counters["c1"], "next")
    response = client.post(
        f"/api/v1/counters/{world.counters['c1']}/transfer", json={"service": "ZZ"}, headers=bearer(clerk)
    )
    assert error_of(response, 404)["code"] == "unknown_service"


def test_the_public_tracking_view_reveals_no_personal_data_and_no_other_ticket(client, world):
    mine = issue(client, world.kiosk_token, "TP-A")
    issue(client, world.kiosk_token, "TP-A")
    body = client.get(f"/api/v1/tickets/{mine['tracking_token']}").get_json()
    assert body["display_number"] == "1001" and body["waiting_ahead"] == 0
    assert "tracking_token" not in body and "clerk_id" not in body and "idempotency_key" not in body
    assert error_of(client.get("/api/v1/tickets/not-a-token"), 404)["code"] == "unknown_ticket"


def test_a_phone_rates_once_by_tracking_token(client, world):
    ticket = issue(client, world.kiosk_token, "TP-A")
    clerk = staff_token(client, "clerk1")
    act(client, clerk, world.counters["c1"], "open")
    act(client, clerk, world.counters["c1"], "next")
    act(client, clerk, world.counters["c1"], "finish")
    url = f"/api/v1/tickets/{ticket['tracking_token']}/rating"
    assert client.post(url, json={"score": "satisfied"}).status_code == 201
    assert error_of(client.post(url, json={"score": "satisfied"}), 409)["code"] == "already_rated"
    assert error_of(client.post(f"/api/v1/tickets/{ticket['id']}/rating", json={"score": "satisfied"}), 401)


@pytest.mark.parametrize("ref", ["\u00b2", "\u0661\u0662"])  # "²", Arabic-Indic "12": str.isdigit() says yes
def test_a_rating_ref_of_non_ascii_digits_is_a_404_not_a_500(client, world, ref):
    headers = {"Authorization": f"Bearer {world.rating_token}"}
    refused = client.post(f"/api/v1/tickets/{ref}/rating", json={"score": "satisfied"}, headers=headers)
    assert error_of(refused, 404)["code"] == "unknown_ticket"


def test_repeated_failed_sign_ins_are_slowed_down_not_locked(client, world):
    """Issue 14: growing delays instead of a lockout anyone could trigger (see test_security_signin)."""
    for _ in range(5):
        bad = client.post("/api/v1/auth/token", json={"username": "clerk1", "password": "wrong"})
        assert error_of(bad, 401)["code"] == "bad_credentials"
    slowed = client.post("/api/v1/auth/token", json={"username": "clerk1", "password": PASSWORD})
    assert error_of(slowed, 429)["code"] == "sign_in_throttled"
    assert int(slowed.headers["Retry-After"]) >= 1


def test_cookie_sessions_need_the_csrf_token_for_changes(client, world):
    login = client.post("/api/v1/auth/login", json={"username": "clerk1", "password": PASSWORD})
    token = login.get_json()["csrf_token"]
    url = f"/api/v1/counters/{world.counters['c1']}/open"
    assert error_of(client.post(url, json={}), 400)["code"] == "csrf_failed"
    assert client.post(url, json={}, headers={"X-CSRFToken": token}).status_code == 200


def test_ticket_issuing_is_rate_limited_per_device(settings, clock):
    from dataclasses import replace

    from server.app import create_app
    from tests.support.world import build_world

    app = create_app(replace(settings, ticket_rate_limit="3/minute"), clock=clock)
    world = build_world(app.extensions["luot"].db)
    client = app.test_client()
    statuses = [
        client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(world.kiosk_token)).status_code
        for _ in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    app.extensions["luot"].close()


def test_unknown_api_routes_and_methods_answer_in_json(client):
    assert error_of(client.get("/api/v1/nothing-here"), 404)["code"] == "not_found"
    assert error_of(client.get("/api/v1/tickets"), 405)["code"] == "method_not_allowed"


def test_the_openapi_document_lists_every_api_route(app, client):
    documented = client.get("/api/v1/openapi.json").get_json()["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert path in documented, f"{rule.rule} is not in the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in documented[path], f"{method} {rule.rule} is not documented"


@pytest.mark.parametrize(
    ("data", "content_type", "vi_part", "en_part"),
    [
        ("{not json", "application/json", "JSON không đúng cú pháp", "malformed JSON"),
        ("service=TP-A", "text/plain", "cần gửi application/json", "expected application/json"),
        ("[1, 2]", "application/json", "cần một đối tượng JSON", "expected a JSON object"),
        ('{"service": 12}', "application/json", "service phải là chuỗi ký tự", "service must be a string"),
        ('{"service": "' + "x" * 40 + '"}', "application/json", "service quá dài", "service is too long"),
        ('{"service": "TP-A", "priority": []}', "application/json", "priority phải là chuỗi", "priority must be a"),
    ],
)
def test_a_bad_body_is_explained_in_each_language_without_the_other(
    client, world, data, content_type, vi_part, en_part
):
    """What is wrong with a body reads in Vietnamese in the Vietnamese message (it carried pydantic's English)."""
    response = client.post("/api/v1/tickets", data=data, content_type=content_type, headers=bearer(world.kiosk_token))
    messages = error_of(response, 400)["messages"]
    assert vi_part in messages["vi"] and en_part not in messages["vi"]
    assert en_part in messages["en"]
    for english in ("should", "Input", "valid", "expected", "required", "malformed"):
        assert english not in messages["vi"], messages["vi"]
