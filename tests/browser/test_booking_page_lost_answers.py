"""The citizen's page on a phone whose answer is lost after the server committed (Chromium, a real server
process, its real SQLite file): the request reaches the server and is carried out, then the answer is lost on
the way back (Playwright fetches it from the server, then aborts the page's request, as a dropped mobile
connection does). Tapping again sends the same Idempotency-Key and shows what the first tap made — the same
number, the same booking and link, the move and the cancellation done — and the database holds one of each; a
503 storage_unconfirmed is asked again by the page itself (the outside tester's defect 3)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from server.process import ServerProcess
from tests.support.booking_world import booking_server
from tests.support.citizen_cookies import citizen_cookie, instance_secret
from tests.support.lost_answers import unconfirmed_body

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UNCONFIRMED = unconfirmed_body()


@pytest.fixture
def server(tmp_path) -> Iterator[ServerProcess]:
    with booking_server(tmp_path) as process:
        yield process


def citizen_phone(browser: Any, server: ServerProcess, phone: str) -> Page:
    """A phone whose citizen identified with `phone` (the session cookie the one-time code would have set)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    cookie = citizen_cookie(instance_secret(server.settings()), phone)
    context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    return context.new_page()


class LostAnswer:
    """Routes the page's next request to `pattern` to the real server, keeps the server's answer and the
    request's Idempotency-Key, and loses the answer on the way back (`fulfil`: answered with it instead)."""

    def __init__(self, page: Page, pattern: str, fulfil: dict | None = None) -> None:
        self.keys: list[str] = []
        self.answers: list[Any] = []
        self.fulfil = fulfil
        page.route(pattern, self._lose, times=1)

    def _lose(self, route: Route) -> None:
        self.keys.append(route.request.headers.get("idempotency-key", ""))
        answer = route.fetch()  # the real server carries it out
        assert answer.ok, answer.text()
        self.answers.append(answer.json())
        if self.fulfil is None:
            route.abort("connectionreset")
        else:
            route.fulfill(status=503, json=self.fulfil)


def rows(server: ServerProcess, sql: str) -> list[tuple]:
    with sqlite3.connect(server.instance_dir / "luot.sqlite3") as db:
        return db.execute(sql).fetchall()


def test_a_number_for_today_whose_answer_was_lost_is_the_same_number_when_the_citizen_taps_again(
    server: ServerProcess, browser
):
    phone = citizen_phone(browser, server, "+84905000001")
    try:
        phone.goto(f"{server.url}/book/HN")
        phone.get_by_role("button", name="Sở Tư pháp").click()
        lost = LostAnswer(phone, "**/book/HN/online")
        phone.get_by_role("button", name="Lấy số thứ tự hôm nay").click()
        expect(phone.locator("#error")).to_be_visible()  # no answer: the page says so and stays
        with phone.expect_response(lambda r: r.url.endswith("/book/HN/online")) as again:
            phone.get_by_role("button", name="Lấy số thứ tự hôm nay").click()
        assert again.value.status == 200, again.value.text()  # not 409 person_service_limit
        assert lost.keys[0] and again.value.request.headers["idempotency-key"] == lost.keys[0]
        token = lost.answers[0]["tracking_token"]
        phone.wait_for_url(f"**/t/{token}*")  # the tracking page of the number the first tap took
        assert rows(server, "SELECT count(*) FROM ticket WHERE channel = 'online'") == [(1,)]
    finally:
        phone.context.close()


def test_a_number_for_today_unconfirmed_by_the_database_is_asked_again_by_the_page(server: ServerProcess, browser):
    phone = citizen_phone(browser, server, "+84905000002")
    try:
        phone.goto(f"{server.url}/book/HN")
        phone.get_by_role("button", name="Sở Tư pháp").click()
        lost = LostAnswer(phone, "**/book/HN/online", fulfil=UNCONFIRMED)
        with phone.expect_response(lambda r: r.url.endswith("/book/HN/online") and r.status == 200) as again:
            phone.get_by_role("button", name="Lấy số thứ tự hôm nay").click()  # once: the page asks again itself
        assert again.value.request.headers["idempotency-key"] == lost.keys[0]
        phone.wait_for_url(f"**/t/{lost.answers[0]['tracking_token']}*")
        assert rows(server, "SELECT count(*) FROM ticket WHERE channel = 'online'") == [(1,)]
    finally:
        phone.context.close()


def test_a_booking_its_move_and_its_cancellation_whose_answers_were_lost_are_each_made_once(
    server: ServerProcess, browser
):
    phone = citizen_phone(browser, server, "+84905000003")
    try:
        phone.goto(f"{server.url}/book/HN")
        phone.get_by_role("button", name="Sở Tư pháp").click()
        phone.get_by_role("button", name="Đặt lịch hẹn").first.click()
        phone.locator("[data-step=day] .bk-choice").first.click()
        phone.locator(".bk-slot[data-at='2026-11-18T09:00:00+07:00']").click()
        booked = LostAnswer(phone, "**/book/HN/bookings")
        phone.get_by_role("button", name="Xác nhận đặt lịch").click()
        expect(phone.locator("#error")).to_be_visible()
        phone.get_by_role("button", name="Xác nhận đặt lịch").click()  # tapped again: the same booking
        expect(phone.locator("h1")).to_have_text("Đã đặt lịch thành công")
        expect(phone.locator("#booking-code")).to_have_text(booked.answers[0]["booking"]["code"])
        assert phone.url.split("?")[0].endswith(f"/book/HN/m/{booked.answers[0]['secret']}")  # the link of the first
        assert rows(server, "SELECT count(*) FROM appointment") == [(1,)]

        phone.get_by_role("button", name="Đổi giờ hẹn").click()
        phone.locator("[data-step=day] .bk-choice").first.click()
        moved = LostAnswer(phone, "**/move")
        nine_thirty = phone.locator(".bk-slot[data-at='2026-11-18T09:30:00+07:00']")
        nine_thirty.click()
        expect(phone.locator("#error")).to_be_visible()
        nine_thirty.click()
        expect(phone.locator("#when")).to_contain_text("09:30")
        assert moved.answers[0]["booking"]["time"] == "09:30"
        assert rows(server, "SELECT moves FROM appointment") == [(1,)]  # moved once

        phone.on("dialog", lambda dialog: dialog.accept())
        cancelled = LostAnswer(phone, "**/cancel")
        phone.get_by_role("button", name="Huỷ lịch hẹn").click()
        expect(phone.locator("#error")).to_be_visible()
        phone.get_by_role("button", name="Huỷ lịch hẹn").click()  # not "can no longer be changed"
        expect(phone.locator("h1")).to_have_text("Lịch hẹn này đã bị huỷ.")
        assert cancelled.answers[0]["booking"]["status"] == "cancelled"
        assert rows(server, "SELECT status FROM appointment") == [("cancelled",)]
    finally:
        phone.context.close()
