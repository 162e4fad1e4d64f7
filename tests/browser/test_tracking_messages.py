"""The phone page's "tell me by message" form in real Chromium at 390×844 (Vietnamese and English): the consent
text shows before the number field, the form saves the wish, and the near-turn message reaches the stand-in
gateway through the real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.configuration.site_settings import check_site_settings
from server.db import Database
from server.models import Site
from server.process import ServerProcess
from tests.support.gateway import Gateway
from tests.support.world import World, build_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}


def test_a_citizen_asks_for_messages_on_the_phone_page(browser, tmp_path: Path):
    gateway = Gateway()

    def populate(db: Database) -> World:
        world = build_world(db)
        with db.write() as session:
            site = session.get(Site, world.site_id)
            assert site is not None
            sms = {"url": f"{gateway.url}/sms", "body": '{"to": "{phone}", "text": "{text}", "ref": "{id}"}'}
            site.settings = check_site_settings({**site.settings, "messaging": {"sms": sms}})
            session.add(site)
            session.commit()
        return world

    server = ServerProcess(tmp_path / "instance")
    world = server.prepare(populate)
    assert isinstance(world, World)
    server.start()
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page: Page = context.new_page()
    try:
        import requests

        headers = {"Authorization": f"Bearer {world.kiosk_token}"}
        ticket = requests.post(f"{server.url}/api/v1/tickets", json={"service": "TP-A"}, headers=headers, timeout=10)
        token = ticket.json()["tracking_token"]
        page.goto(f"{server.url}/t/{token}")
        consent = page.locator("#notify-consent")
        expect(consent).to_contain_text("chỉ dùng để gửi các tin báo về số thứ tự này")
        assert consent.bounding_box()["y"] < page.locator("#notify-address").bounding_box()["y"]
        page.locator("#notify").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "notify-vi.png"), full_page=True)
        page.fill("#notify-address", "0912 345 678")
        page.click("#notify-send")  # consent not ticked: the browser asks for it first
        expect(page.locator(".tk-notify-done")).to_have_count(0)
        page.check("input[name=consent]")
        page.click("#notify-send")
        expect(page.locator(".tk-notify-done")).to_have_text("Đã đăng ký: chúng tôi sẽ nhắn tin cho bạn.")
        page.screenshot(path=str(tmp_path / "notify-vi-done.png"), full_page=True)
        assert "912" not in page.content()

        clerk = requests.post(
            f"{server.url}/api/v1/auth/token", json={"username": "clerk2", "password": "secret-pass"}, timeout=10
        ).json()["token"]
        requests.post(
            f"{server.url}/api/v1/counters/{world.counters['c2']}/open",
            headers={"Authorization": f"Bearer {clerk}"},
            timeout=10,
        ).raise_for_status()
        (sms,) = gateway.wait_for(1)  # nobody ahead and a counter open: the near-turn message
        assert sms.json()["text"].startswith(f"Sap den luot so {ticket.json()['display_number']}")

        page.goto(f"{server.url}/t/{token}?lang=en")
        expect(page.locator("#notify h2")).to_have_text("Get a message when your turn is near")
        expect(page.locator("#notify-consent")).to_contain_text("used only to send you these messages")
        page.screenshot(path=str(tmp_path / "notify-en.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "nothing wider than the phone"
    finally:
        context.close()
        server.stop()
        gateway.close()
