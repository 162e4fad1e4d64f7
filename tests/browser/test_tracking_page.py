"""The citizen's phone page (the ticket's QR code) in real Chromium against a real server process."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.support.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOWN = 30_000  # ms


class LiveApi:
    """The REST calls a kiosk and clerks make, against the live server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.tokens: dict[str, str] = {}

    def post(self, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(
            f"{self.url}/api/v1{path}", json=body or {}, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def issue(self, kiosk_token: str, service: str) -> dict[str, Any]:
        return self.post("/tickets", kiosk_token, {"service": service})

    def act(self, username: str, counter_id: int, action: str) -> dict[str, Any]:
        if username not in self.tokens:
            response = self.http.post(
                f"{self.url}/api/v1/auth/token", timeout=10, json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["token"]
        return self.post(f"/counters/{counter_id}/{action}", self.tokens[username])


def test_the_phone_page_follows_the_queue_and_shows_the_call(page: Page, live_world):
    server, world = live_world
    api = LiveApi(server.url)
    first = api.issue(world.kiosk_token, "TP-A")
    mine = api.issue(world.kiosk_token, "TP-A")
    api.issue(world.kiosk_token, "TP-A")  # someone behind me changes nothing ahead of me

    page.goto(f"{server.url}/t/{mine['tracking_token']}")
    expect(page.locator("#my-number")).to_have_text(mine["display_number"])
    expect(page.locator("#my-status")).to_have_text("Đang chờ", timeout=SHOWN)
    expect(page.locator("#ahead")).to_have_text("1")
    # no counter is open yet: no minutes are promised, and no "your turn is near" alert
    expect(page.locator("#wait")).to_have_text("Chưa có quầy mở cho dịch vụ này")
    expect(page.locator("#now-serving")).to_have_text("—")
    expect(page.locator("#alert")).to_be_hidden()

    api.act("clerk2", world.counters["c2"], "open")
    api.act("clerk2", world.counters["c2"], "next")  # calls the first ticket
    expect(page.locator("#ahead")).to_have_text("0", timeout=SHOWN)
    expect(page.locator("#now-serving")).to_have_text(first["display_number"])
    expect(page.locator("#wait")).to_have_text("Sắp đến lượt quý vị")
    # nobody ahead and a counter open: the "near" alert is up
    expect(page.locator("#alert")).to_have_text("Sắp đến lượt quý vị: vui lòng quay lại sảnh chờ.")

    api.act("clerk1", world.counters["c1"], "open")
    api.act("clerk1", world.counters["c1"], "next")  # calls me
    expect(page.locator("body")).to_have_attribute("data-status", "called", timeout=SHOWN)
    expect(page.locator("#my-status")).to_have_text("Đến lượt quý vị! Mời quý vị đến quầy 1")
    expect(page.locator("#alert")).to_have_text("Đến lượt quý vị! Mời quý vị đến quầy 1")
    expect(page.locator("#now-serving")).to_have_text(mine["display_number"])
    alerts = page.evaluate("window.__luotTrack.alerts.map(a => a.kind)")
    assert alerts == ["near", "called"]

    api.act("clerk1", world.counters["c1"], "start")
    expect(page.locator("#my-status")).to_have_text("Đang được phục vụ · Tại quầy 1", timeout=SHOWN)
    api.act("clerk1", world.counters["c1"], "finish")
    expect(page.locator("#my-status")).to_have_text("Đã hoàn thành", timeout=SHOWN)
    rating = page.locator("#rating")
    expect(rating).to_be_visible(timeout=SHOWN)
    expect(rating.locator("#rating-buttons button")).to_have_text(["Rất hài lòng", "Hài lòng", "Không hài lòng"])
    rating.get_by_role("button", name="Rất hài lòng").click()
    expect(page.locator("#rating-prompt")).to_have_text("Cảm ơn quý vị đã đánh giá.")
    expect(rating.locator("#rating-buttons button")).to_have_count(0)
    expect(rating.locator("#rating-reasons")).to_be_hidden()
    tracked = requests.get(f"{server.url}/api/v1/tickets/{mine['tracking_token']}", timeout=10).json()
    assert tracked["rated"] is True

    page.reload()  # after a reload: no second rating, no repeated alerts
    expect(page.locator("#rating-prompt")).to_have_text("Cảm ơn quý vị đã đánh giá.", timeout=SHOWN)
    expect(page.locator("#rating-buttons button")).to_have_count(0)
    expect(page.locator("#rating-reasons")).to_be_hidden()
    assert page.evaluate("window.__luotTrack.alerts.length") == 0


def test_an_unknown_tracking_link_shows_a_friendly_page(page: Page, live_world):
    server, _world = live_world
    response = page.goto(f"{server.url}/t/this-is-not-a-ticket")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Không tìm thấy số thứ tự")
