"""A stale console in real Chromium (report H2, D4): its actions name the ticket it shows, so when another console
of the same clerk has moved the counter on meanwhile, the server refuses them and the console says who is at the
counter now and shows them, instead of finishing (or attaching a dossier code to) the next citizen.

The other console is the same clerk's Bearer token; it acts inside Playwright's interception of this console's
request — after the request left the page with the ticket it showed, before it reaches the server — so the order
is fixed, not raced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, Route, expect
from sqlmodel import select

from server.models import Ticket, TicketDossier
from server.process import ServerProcess
from tests.browser.test_console import action, database, issue, open_console
from tests.support.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CALLED = "Đã gọi, đang chờ công dân đến quầy"


class OtherConsole:
    """The same clerk's other console (another tab, another PC), through the API."""

    def __init__(self, server: ServerProcess, counter_id: int) -> None:
        answer = requests.post(
            f"{server.url}/api/v1/auth/token", json={"username": "clerk1", "password": PASSWORD}, timeout=10
        )
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}
        self.path = f"{server.url}/api/v1/counters/{counter_id}"

    def press(self, *actions: str) -> None:
        for name in actions:
            answer = requests.post(f"{self.path}/{name}", json={}, headers=self.headers, timeout=10)
            assert answer.status_code == 200, answer.text


def before_it_arrives(page: Page, action_path: str, meanwhile: Callable[[], None]) -> list[dict[str, Any]]:
    """Runs `meanwhile` once, when this console's next POST to …/`action_path` has left the page; returns the
    bodies sent (one, once it has been sent)."""
    bodies: list[dict[str, Any]] = []

    def hold_back(route: Route) -> None:
        bodies.append(route.request.post_data_json)
        meanwhile()
        route.continue_()

    page.route(f"**/api/v1/counters/*/{action_path}", hold_back, times=1)
    return bodies


def status_of(server: ServerProcess, ticket_id: int) -> str:
    with database(server) as db, db.read() as session:
        return session.get(Ticket, ticket_id).status


def changed_message(number: str) -> str:
    return f"Quầy vừa thay đổi: số {number} đang ở quầy. Thao tác chưa được thực hiện; hãy kiểm tra lại rồi thử lại."


def test_a_finish_for_the_citizen_shown_does_not_finish_the_one_called_elsewhere(browser, live_world):
    server, world = live_world
    x, y = issue(server, world, "TP-A"), issue(server, world, "TP-A")
    with open_console(browser, server, "clerk1", 1) as page:
        action(page, "next").click()
        action(page, "start").click()
        expect(page.locator("#current-status")).to_have_text("Đang phục vụ")
        other = OtherConsole(server, world.counters["c1"])
        sent = before_it_arrives(page, "finish", lambda: other.press("next"))  # finishes X, calls Y
        action(page, "finish").click()
        expect(page.locator("#message")).to_have_text(changed_message(y["display_number"]))
        assert sent == [{"ticket_id": x["id"]}]
        expect(page.locator("#current-number")).to_have_text(y["display_number"])
        expect(page.locator("#current-status")).to_have_text(CALLED)
        assert status_of(server, y["id"]) == "called"  # Y was not finished unseen
        action(page, "start").click()  # the console now names Y
        expect(page.locator("#current-status")).to_have_text("Đang phục vụ")


def test_call_next_from_a_stale_console_does_not_finish_the_citizen_served_elsewhere(browser, live_world):
    server, world = live_world
    x, y, z = (issue(server, world, "TP-A") for _ in range(3))
    with open_console(browser, server, "clerk1", 1) as page:
        action(page, "next").click()
        action(page, "start").click()
        expect(page.locator("#current-status")).to_have_text("Đang phục vụ")
        other = OtherConsole(server, world.counters["c1"])
        sent = before_it_arrives(page, "next", lambda: other.press("next", "start"))  # Y is being served there
        action(page, "next").click()
        expect(page.locator("#message")).to_have_text(changed_message(y["display_number"]))
        assert sent == [{"ticket_id": x["id"]}]
        expect(page.locator("#current-number")).to_have_text(y["display_number"])
        expect(page.locator("#current-status")).to_have_text("Đang phục vụ")
        assert (status_of(server, y["id"]), status_of(server, z["id"])) == ("serving", "waiting")


def test_a_dossier_code_scanned_for_the_citizen_shown_is_not_attached_to_the_next(browser, live_world):
    server, world = live_world
    x, y = issue(server, world, "TP-A"), issue(server, world, "TP-A")
    with open_console(browser, server, "clerk1", 1) as page:
        action(page, "next").click()
        expect(page.locator("#current-number")).to_have_text(x["display_number"])
        other = OtherConsole(server, world.counters["c1"])
        sent = before_it_arrives(page, "dossiers", lambda: other.press("start", "next"))  # X finished, Y called
        field = page.locator("#dossier-code")
        field.fill("000.00.26.H12-X")
        field.press("Enter")
        expect(page.locator("#message")).to_have_text(changed_message(y["display_number"]))
        assert sent == [{"ticket_id": x["id"], "dossiers": ["000.00.26.H12-X"]}]
        expect(page.locator("#current-number")).to_have_text(y["display_number"])
        expect(field).to_have_value("")  # the code was for X: not left ready to be sent for Y
        expect(page.locator("#dossier-list li")).to_have_count(0)
    with database(server) as db, db.read() as session:
        assert session.exec(select(TicketDossier)).all() == []
