"""Details of the citizen's and the staff booking pages found by trying them (Chromium, 390×844, a real server
process whose clock starts on Wednesday 08:00): a refusal shows the server's own Vietnamese or English message
(`{"error": {"code", "messages": {vi, en}}}`) and stays on screen when the page goes back; no sign-in link where no
identity platform is set; counts and a closed today read right; every touch target is 44 px or more."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Page, expect

from server.process import ServerProcess
from tests.integration._live import Api
from tests.support.booking_world import booking_server, slot
from tests.support.citizen_cookies import citizen_cookie, instance_secret
from tests.support.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NO_CHANNEL = {
    "vi": "Trung tâm chưa gửi được tin nhắn đến số điện thoại",
    "en": "This centre cannot send messages to phone numbers",
}


@pytest.fixture
def server(tmp_path) -> Iterator[ServerProcess]:
    with booking_server(tmp_path) as process:  # no message channel: a one-time code cannot be sent
        yield process


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_citizen_page_shows_the_servers_message_of_a_refusal(server: ServerProcess, browser, language: str):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        phone.goto(f"{server.url}/book/HN" + ("?lang=en" if language == "en" else ""))
        online = "Lấy số thứ tự hôm nay" if language == "vi" else "Take a number for today"
        phone.get_by_role("button", name="Sở Tư pháp" if language == "vi" else "Department of Justice").click()
        phone.get_by_role("button", name=online).first.click()
        expect(phone.locator("h1")).to_have_text(
            "Ai lấy số thứ tự?" if language == "vi" else "Who is taking the number?"
        )
        expect(phone.locator(".bk-step")).to_have_count(0)  # not "step 5 of 5" of a booking
        phone.locator("#consent").check()
        phone.locator("#phone").fill("0912345678")
        phone.get_by_role("button", name="Gửi mã cho tôi" if language == "vi" else "Send me a code").click()
        expect(phone.locator("#error")).to_contain_text(NO_CHANNEL[language])
        # no identity platform is set for this site: no sign-in link that would only lead to a 404
        expect(phone.locator("#oidc")).to_have_count(0)
    finally:
        context.close()


def test_the_staff_page_shows_the_servers_message_of_a_refusal(server: ServerProcess, page: Page):
    clerk = Api(server.url)
    clerk.token = clerk.login("clerk2")
    taken = clerk.http.post(  # CA-X 09:00: its one place is taken
        f"{server.url}/book/HN/bookings",
        json={"service": "CA-X", "slot": slot(9)},
        headers={"Authorization": f"Bearer {clerk.token}"},
        timeout=10,
    )
    assert taken.status_code == 201, taken.text
    clerk.close()
    page.goto(f"{server.url}/dashboard/login?next=/book/HN/staff")
    page.fill("input[name=username]", "clerk2")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/book/HN/staff*")
    page.select_option("#staff-service", "CA-X")
    page.wait_for_function("document.querySelectorAll('#staff-slot option').length > 0")
    page.evaluate(  # the slot was full when the page was drawn; the refusal is the server's
        "at => { const s = document.getElementById('staff-slot'); s.append(new Option(at, at)); s.value = at; }",
        slot(9),
    )
    page.click("#staff-form button[type=submit]")
    expect(page.locator("#staff-result")).to_contain_text("Khung giờ này vừa hết chỗ")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_refused_online_number_stays_explained_after_the_page_goes_back(
    server: ServerProcess, browser, language: str
):
    """The citizen already holds today's TP-A number (1 per service): the second is refused and the refusal stays
    on screen over the services it goes back to."""
    secret = instance_secret(server.settings())
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.add_cookies(
        [{"name": "session", "value": citizen_cookie(secret, "+84912345678"), "domain": "127.0.0.1", "path": "/"}]
    )
    phone = context.new_page()
    try:
        first = context.request.post(f"{server.url}/book/HN/online", data={"service": "TP-A"})
        assert first.status == 201, first.text()
        phone.goto(f"{server.url}/book/HN" + ("?lang=en" if language == "en" else ""))
        phone.get_by_role("button", name="Sở Tư pháp" if language == "vi" else "Department of Justice").click()
        phone.get_by_role(
            "button", name="Lấy số thứ tự hôm nay" if language == "vi" else "Take a number for today"
        ).click()
        expect(phone.locator("body")).to_have_attribute("data-step", "service")
        limit = "mỗi người tối đa 1" if language == "vi" else "at most 1 per person"
        expect(phone.locator("#error")).to_be_visible()
        expect(phone.locator("#error")).to_contain_text(limit)
    finally:
        context.close()


def test_a_slot_taken_meanwhile_stays_explained_over_the_redrawn_slots(server: ServerProcess, browser):
    secret = instance_secret(server.settings())
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    cookie = {"name": "session", "domain": "127.0.0.1", "path": "/"}
    context.add_cookies([{**cookie, "value": citizen_cookie(secret, "+84912345678")}])
    phone = context.new_page()
    try:
        phone.goto(f"{server.url}/book/HN")
        phone.get_by_role("button", name="Công an tỉnh").click()
        phone.get_by_role("button", name="Đặt lịch hẹn").first.click()
        phone.locator("[data-step=day] .bk-choice").first.click()
        phone.locator(f".bk-slot[data-at='{slot(10)}']").click()
        expect(phone.locator("#confirm")).to_be_visible()
        other = requests.Session()  # another citizen takes CA-X 10:00's only place first
        other.cookies.set("session", citizen_cookie(secret, "+84987654321"), domain="127.0.0.1")
        taken = other.post(f"{server.url}/book/HN/bookings", json={"service": "CA-X", "slot": slot(10)}, timeout=10)
        assert taken.status_code == 201, taken.text
        phone.locator("#confirm").click()
        expect(phone.locator("body")).to_have_attribute("data-step", "slot")
        expect(phone.locator("#error")).to_be_visible()
        expect(phone.locator("#error")).to_contain_text("Khung giờ này vừa hết chỗ")
    finally:
        context.close()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_counts_read_right_and_a_closed_today_says_so(server: ServerProcess, browser, language: str):
    """CA-X has 1 place a slot: "1 place left", not "1 places left"; today closed (a holiday here) reads "no more
    times today", not "not open on this day" as if the citizen had picked a wrong weekday."""
    with sqlite3.connect(server.instance_dir / "luot.sqlite3") as db:
        db.execute("INSERT INTO holiday (site_id, day, name) SELECT id, '2026-11-18', 'x' FROM site WHERE code = 'HN'")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    words = {
        "vi": ("Công an tỉnh", "Đặt lịch hẹn", "Hôm nay không còn giờ nhận đặt lịch", "Còn 1 chỗ"),
        "en": ("Provincial Police", "Book a time", "No more times today", "1 place left"),
    }[language]
    try:
        phone.goto(f"{server.url}/book/HN" + ("?lang=en" if language == "en" else ""))
        phone.get_by_role("button", name=words[0]).click()
        phone.get_by_role("button", name=words[1]).first.click()
        days = phone.locator("[data-step=day] .bk-choice")
        expect(days.first).to_contain_text(words[2])
        days.nth(1).click()  # Thursday
        expect(phone.locator(".bk-slot").first).to_have_text(re.compile(rf"07:30\s*{words[3]}$"))
    finally:
        context.close()


TARGETS = """() => [...document.querySelectorAll('a, button, input:not([type=checkbox]), label')]
  .filter((e) => e.offsetParent !== null)
  .map((e) => ({ what: e.id || e.textContent.trim().slice(0, 30), box: e.getBoundingClientRect() }))
  .filter(({ box }) => box.height < 44 || box.width < 44)
  .map(({ what, box }) => `${what}: ${Math.round(box.width)}×${Math.round(box.height)}`)"""


def test_every_touch_target_is_at_least_44_px(server: ServerProcess, browser):
    """An elderly citizen's thumb on a 390×844 phone: links (the language switch too), buttons, fields and the
    consent's label are 44 px or more each way (WCAG 2.5.5)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        phone.goto(f"{server.url}/book/HN")
        phone.get_by_role("button", name="Sở Tư pháp").click()
        expect(phone.locator("body")).to_have_attribute("data-step", "service")
        assert phone.evaluate(TARGETS) == []
        phone.get_by_role("button", name="Lấy số thứ tự hôm nay").first.click()
        expect(phone.locator("#consent")).to_be_visible()
        assert phone.evaluate(TARGETS) == []
    finally:
        context.close()
