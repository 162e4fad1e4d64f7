"""The whole booking flow on a phone (Chromium, 390×844) against a real server process, in Vietnamese and in
English: agency → service → day → slot → identify (consent, phone, one-time code) → confirm → confirmation
(code, QR, .ics) → change the time → cancel; and a number for today. A screenshot of each step goes to
test-artifacts/booking/<language>/ (the folder is printed); each step's text must fit its boxes."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.configuration.site_settings import check_site_settings
from server.db import Database
from server.models import Site
from server.process import ServerProcess
from tests.integration._live import Api
from tests.support.booking_world import booking_server, build_booking_world
from tests.support.citizens import SMS
from tests.support.screens import layout_report
from tests.support.world import World

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "booking"
PHONE = {"width": 390, "height": 844}
SHOWN = 15_000  # ms


def _world(db: Database) -> World:
    world = build_booking_world(db)
    with db.write() as session:
        site = session.get(Site, world.site_id)
        assert site is not None
        site.address = "Số 1 Phố Tràng Tiền, Hoàn Kiếm, Hà Nội"
        site.settings = check_site_settings({**site.settings, "messaging": SMS})  # the one-time code is texted
        session.add(site)
    return world


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with booking_server(tmp_path, _world) as process:
        yield process


@pytest.fixture
def phone(browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, accept_downloads=True
    )
    page = context.new_page()
    yield page
    context.close()


class Steps:
    """Screenshots of one run, numbered in order, each checked for text outside its box and tiny type."""

    def __init__(self, page: Page, language: str) -> None:
        self.page = page
        self.folder = ARTIFACTS / language
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0
        print(f"\nbooking screenshots ({language}): {self.folder}")

    def shot(self, name: str, min_font: float = 16) -> None:
        self.count += 1
        self.page.wait_for_function("document.fonts.status === 'loaded'")
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)
        report = layout_report(self.page, page_scrolls=True)
        assert report["problems"] == [], (name, report["problems"])
        assert report["minFont"] >= min_font, (name, report["minFont"])


def open_counter_and_queue(server: ServerProcess) -> int:
    """Counter 2 (TP-A only) opens and calls one of four kiosk citizens; returns how many still wait."""
    with sqlite3.connect(server.instance_dir / "luot.sqlite3") as db:
        counter = db.execute(
            "SELECT c.id FROM counter c JOIN site s ON s.id = c.site_id WHERE s.code = 'HN' AND c.number = 2"
        )
        counter_id = counter.fetchone()[0]
    kiosk, clerk = Api(server.url, "kiosk-token-1"), Api(server.url)
    clerk.token = clerk.login("clerk2")
    clerk.ok(f"/counters/{counter_id}/open")
    for _ in range(4):
        kiosk.ok("/tickets", {"service": "TP-A"})
    clerk.ok(f"/counters/{counter_id}/next")
    kiosk.close()
    clerk.close()
    return 3


def last_code(server: ServerProcess, phone_e164: str) -> str:
    with sqlite3.connect(server.instance_dir / "luot.sqlite3") as db:
        row = db.execute(
            "SELECT params FROM outboxmessage WHERE kind = 'otp' AND address = ? ORDER BY id DESC LIMIT 1",
            (phone_e164,),
        ).fetchone()
    assert row is not None, "no code was queued"
    return str(json.loads(row[0])["code"])


WORDS = {
    "vi": {
        "agency": "Sở Tư pháp",
        "book": "Đặt lịch hẹn",
        "today": "Hôm nay",
        "send": "Gửi mã cho tôi",
        "verify": "Xác nhận",
        "confirm": "Xác nhận đặt lịch",
        "confirmed": "Đã đặt lịch thành công",
        "calendar": "Thêm vào lịch",
        "reschedule": "Đổi giờ hẹn",
        "cancel": "Huỷ lịch hẹn",
        "cancelled": "Lịch hẹn này đã bị huỷ.",
        "online": "Lấy số thứ tự hôm nay",
        "consent": "Dữ liệu cá nhân",
        "come_back": "Vui lòng quay lại sảnh trước khoảng",
    },
    "en": {
        "agency": "Department of Justice",
        "book": "Book a time",
        "today": "Today",
        "send": "Send me a code",
        "verify": "Confirm",
        "confirm": "Confirm the booking",
        "confirmed": "Your booking is confirmed",
        "calendar": "Add to calendar",
        "reschedule": "Change the time",
        "cancel": "Cancel the booking",
        "cancelled": "This booking is cancelled.",
        "online": "Take a number for today",
        "consent": "personal data",
        "come_back": "Please be back in the hall by about",
    },
}


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_whole_booking_flow_on_a_phone(server: ServerProcess, phone: Page, language: str):
    w = WORDS[language]
    steps = Steps(phone, language)
    mobile, e164 = ("0912345678", "+84912345678") if language == "vi" else ("0987654321", "+84987654321")
    query = "" if language == "vi" else "?lang=en"
    phone.goto(f"{server.url}/book/HN{query}")
    expect(phone.locator("html")).to_have_attribute("lang", language)
    expect(phone.get_by_role("button", name=w["agency"])).to_be_visible(timeout=SHOWN)
    steps.shot("agencies")

    phone.get_by_role("button", name=w["agency"]).click()
    expect(phone.get_by_role("button", name=w["book"]).first).to_be_visible()
    steps.shot("services")

    phone.get_by_role("button", name=w["book"]).first.click()
    today = phone.locator("[data-step=day] .bk-choice").first
    expect(today).to_contain_text(w["today"])
    steps.shot("days")

    today.click()
    nine = phone.locator(".bk-slot[data-at='2026-11-18T09:00:00+07:00']")
    expect(nine).to_contain_text("09:00")
    expect(nine).to_be_enabled()
    steps.shot("slots")

    nine.click()
    expect(phone.locator("#consent-text")).to_contain_text(w["consent"], ignore_case=True)
    steps.shot("identify")

    phone.locator("#consent").check()
    phone.locator("#phone").fill(mobile)
    phone.get_by_role("button", name=w["send"]).click()
    expect(phone.locator("#otp")).to_be_visible()
    phone.locator("#otp").fill(last_code(server, e164))
    steps.shot("code")

    phone.locator("#verify").click()
    expect(phone.get_by_role("button", name=w["confirm"])).to_be_visible()
    phone.locator("#card").fill("001099012345" if language == "vi" else "001099054321")
    steps.shot("confirm")

    phone.get_by_role("button", name=w["confirm"]).click()
    expect(phone.locator("h1")).to_have_text(w["confirmed"])
    code = phone.locator("#booking-code").inner_text()
    assert len(code) == 8
    expect(phone.locator("#when")).to_contain_text("09:00")
    assert "/book/HN/m/" in phone.url  # the address is the confirmation link
    phone.wait_for_function("document.getElementById('booking-qr').naturalWidth > 0")  # the QR code drew
    steps.shot("confirmation")

    with phone.expect_download() as download:
        phone.get_by_role("link", name=w["calendar"]).click()
    ics = Path(download.value.path()).read_text()
    assert "DTSTART;TZID=Asia/Ho_Chi_Minh:20261118T090000" in ics and code in ics

    phone.get_by_role("button", name=w["reschedule"]).click()
    phone.locator("[data-step=day] .bk-choice").first.click()
    phone.locator(".bk-slot[data-at='2026-11-18T09:30:00+07:00']").click()
    expect(phone.locator("#when")).to_contain_text("09:30")
    expect(phone.locator("#booking-code")).to_have_text(code)
    steps.shot("moved")

    phone.reload()  # the link alone finds the booking again
    expect(phone.locator("#when")).to_contain_text("09:30")
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name=w["cancel"]).click()
    expect(phone.locator("h1")).to_have_text(w["cancelled"])
    steps.shot("cancelled")

    ahead = open_counter_and_queue(server)  # a counter serves TP-A and three citizens wait: the line has an estimate
    phone.goto(f"{server.url}/book/HN{query}")  # still identified: a number for today in one tap
    phone.get_by_role("button", name=w["agency"]).click()
    phone.get_by_role("button", name=w["online"]).click()
    expect(phone.locator("#my-number")).not_to_have_text("", timeout=SHOWN)
    assert "/t/" in phone.url
    expect(phone.locator("#ahead")).to_have_text(str(ahead))
    expect(phone.locator("#come-back")).to_contain_text(w["come_back"], timeout=SHOWN)
    back = re.search(r"(\d\d):(\d\d)", phone.locator("#come-back").inner_text())
    assert (
        back and "08:05" <= f"{back[1]}:{back[2]}" <= "08:40"
    )  # by the server's clock (08:00 and a bit): wait − 5 min
    steps.shot("number-for-today", min_font=13)  # the tracking page (display/) has its own, smaller footnote
    assert steps.count == 11
