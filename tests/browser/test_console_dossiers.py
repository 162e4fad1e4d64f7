"""The console's dossier-code field in real Chromium (issue 15): typed or scanned codes are attached to the
citizen at the counter, listed, kept off the keyboard shortcuts, and cleared for the next citizen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from server.models import TicketDossier
from tests.browser.test_console import action, database, issue, open_console

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_clerk_attaches_two_dossier_codes_by_typing_and_enter(browser, live_world):
    server, world = live_world
    first = issue(server, world, "TP-A")
    second = issue(server, world, "TP-A")
    with open_console(browser, server, "clerk1", 1) as page:
        field = page.locator("#dossier-code")
        expect(field).to_be_disabled()  # nobody at the counter
        action(page, "next").click()
        expect(page.locator("#current-number")).to_have_text(first["display_number"])
        expect(field).to_be_enabled()
        field.fill("000.00.10.H12-251130-0001")
        field.press("Enter")
        expect(page.locator("#dossier-list li")).to_have_text(["000.00.10.H12-251130-0001"])
        field.type("sf-2")  # s and f are Start and Finish on the console: not while typing a code
        field.press("Enter")
        expect(page.locator("#dossier-list li")).to_have_text(["000.00.10.H12-251130-0001", "sf-2"])
        expect(page.locator("#current-number")).to_have_text(first["display_number"])
        field.fill("=bad code")
        field.press("Enter")
        expect(page.locator("#dossier-message")).to_contain_text("Mã hồ sơ không hợp lệ")
        page.locator("body").click()
        action(page, "finish").click()
        expect(page.locator("#dossier-code")).to_be_disabled()
        action(page, "next").click()
        expect(page.locator("#current-number")).to_have_text(second["display_number"])
        expect(page.locator("#dossier-list li")).to_have_count(0)
    with database(server) as db, db.read() as session:
        rows = session.exec(select(TicketDossier).order_by(col(TicketDossier.id))).all()
    assert [(r.ticket_id, r.code) for r in rows] == [
        (first["id"], "000.00.10.H12-251130-0001"),
        (first["id"], "sf-2"),
    ]
