"""Every HTTP error of a JSON endpoint is JSON {"error": {"code", "message", "messages": {vi, en}}}, translated
(416, 405, 404 … not only under /api/), with the headers the status needs; HTML pages keep their plain page."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import default_exceptions

from server.errors_http import HTTP_MESSAGES
from server.i18n import translate
from tests.integration.test_display_routes import call_next, received
from tests.support.api import bearer, issue, staff_token
from tests.support.tools import require_tool


def json_error(response, status: int, code: str) -> dict:
    """The error of `response`, checked: its status, JSON shape, code and a Vietnamese text that is not English."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json, response.mimetype
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["messages"]["vi"] and error["messages"]["en"]
    assert error["messages"]["vi"] != error["messages"]["en"]
    assert error["message"] == error["messages"]["vi"]
    return error


@pytest.mark.parametrize("status", sorted(default_exceptions))
def test_every_http_error_werkzeug_knows_has_a_code_and_a_vietnamese_message(status: int) -> None:
    code, message = HTTP_MESSAGES[status]
    assert code and translate(message, "vi") != message


def test_a_range_beyond_a_static_file_is_a_translated_416_with_its_content_range(client) -> None:
    response = client.get("/kiosk/static/kiosk.css", headers={"Range": "bytes=999999999-"})
    json_error(response, 416, "range_not_satisfiable")
    assert response.headers["Content-Range"].startswith("bytes */")


def test_a_range_beyond_a_call_audio_is_a_translated_416(app, client, socketio, world) -> None:
    require_tool("espeak-ng")
    board = socketio.test_client(app, flask_test_client=client, auth={"token": world.board_token})
    issue(client, world.kiosk_token, "TP-A")
    call_next(client, world)
    (called,) = received(board, "ticket.called")
    board.disconnect()
    json_error(client.get(called["audio_url"], headers={"Range": "bytes=999999999-"}), 416, "range_not_satisfiable")


@pytest.mark.parametrize("path", ["live", "devices", "negative-ratings", "messages"])
@pytest.mark.parametrize("site", ["-5", "999"])
def test_the_dashboards_json_endpoints_answer_an_unknown_site_in_json(client, world, path: str, site: str) -> None:
    admin = bearer(staff_token(client, "admin"))
    json_error(client.get(f"/dashboard/api/{path}?site={site}", headers=admin), 404, "not_found")


def test_an_unknown_path_under_an_api_prefix_is_json(client, world) -> None:
    json_error(client.get("/dashboard/api/nothing-here"), 404, "not_found")


def test_a_wrong_method_on_a_json_endpoint_outside_api_is_a_json_405_with_allow(client, world) -> None:
    for path in ("/book/HN/bookings", "/counter/1/state", "/healthz"):
        response = client.put(path)
        json_error(response, 405, "method_not_allowed")
        assert response.headers["Allow"], path
    response = client.delete("/api/v1/tickets")
    json_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_a_client_asking_for_json_gets_json(client, world) -> None:
    json_error(client.get("/no/such/page", headers={"Accept": "application/json"}), 404, "not_found")


def test_pages_keep_the_browsers_plain_error_page(client, world) -> None:
    for response in (
        client.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}),
        client.get("/kiosk/nothing"),
        client.put("/kiosk/"),
    ):
        assert response.status_code in (404, 405) and response.mimetype == "text/html"
