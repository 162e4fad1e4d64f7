"""The counter console in real Chromium against a real server process: sign-in, counter, calls, transfer,
hold, pause, keyboard shortcuts, takeover, a crashed browser and a lost connection."""

from __future__ import annotations

import queue
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlmodel import select

from server.db import Database
from server.models import Rating, Ticket, TicketEvent
from server.process import ServerProcess
from tests.support.ordered_client import OrderedClient
from tests.support.world import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CONSOLE_URL = re.compile(r"/counter/\d+(\?.*)?$")


# ------------------------------------------------------------------ helpers


def issue(server: ServerProcess, world: World, service: str) -> dict[str, Any]:
    response = requests.post(
        f"{server.url}/api/v1/tickets",
        json={"service": service},
        headers={"Authorization": f"Bearer {world.kiosk_token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def sign_in(page: Page, server: ServerProcess, username: str) -> None:
    page.goto(f"{server.url}/counter/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/counter/(\d+)?(\?.*)?$"))


def take_counter(page: Page, number: int) -> None:
    page.click(f".counter-choice[data-number='{number}']")
    page.wait_for_url(CONSOLE_URL)
    console_ready(page)


def console_ready(page: Page) -> None:
    expect(page.locator("#connection")).to_have_text("Đã kết nối")
    expect(page.locator("#offline-banner")).to_be_hidden()
    expect(action(page, "pause")).to_be_enabled()  # the counter's state has arrived


def action(page: Page, name: str):
    return page.locator(f"[data-action='{name}']")


def waiting_numbers(page: Page):
    return page.locator("#waiting-list li .number")


@contextmanager
def open_console(browser, server: ServerProcess, username: str, number: int) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="vi-VN")
    try:
        page = context.new_page()
        sign_in(page, server, username)
        take_counter(page, number)
        yield page
    finally:
        context.close()


@contextmanager
def board_listening(server: ServerProcess, world: World) -> Iterator[queue.Queue]:
    """A hall board (python-socketio client with the board's device token) collecting `ticket.called`."""
    board = OrderedClient(reconnection=False)
    calls: queue.Queue = queue.Queue()
    snapshots: queue.Queue = queue.Queue()
    board.on("ticket.called", calls.put)
    board.on("snapshot", snapshots.put)
    board.connect(server.url, auth={"token": world.board_token}, wait_timeout=10)
    try:
        snapshots.get(timeout=10)
        yield calls
    finally:
        board.disconnect()


@contextmanager
def database(server: ServerProcess) -> Iterator[Database]:
    db = Database(server.settings())
    try:
        yield db
    finally:
        db.dispose()


# ------------------------------------------------------------------ the main path


def test_a_clerk_calls_serves_and_finishes_and_the_tablet_stores_the_rating(browser, page: Page, live_world):
    server, world = live_world
    tablet_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN", has_touch=True)
    tablet = tablet_context.new_page()
    tablet.goto(f"{server.url}/counter/rating?token={world.rating_token}")
    expect(tablet.locator("#screen-idle")).to_be_visible()
    expect(tablet.locator("#counter-name")).to_have_text("Quầy 1")

    sign_in(page, server, "clerk1")
    expect(page.locator("h1")).to_have_text("Chọn quầy làm việc")
    take_counter(page, 1)
    expect(page.locator("#waiting-empty")).to_be_visible()

    with board_listening(server, world) as calls:
        ticket = issue(server, world, "TP-A")
        expect(waiting_numbers(page)).to_have_text([ticket["display_number"]])  # live, from ticket.issued
        action(page, "next").click()
        expect(page.locator("#current-number")).to_have_text(ticket["display_number"])
        expect(page.locator("#current-status")).to_have_text("Đã gọi, đang chờ công dân đến quầy")
        expect(page.locator("#current-service")).to_have_text("Cấp phiếu lý lịch tư pháp")
        expect(page.locator("#waiting-empty")).to_be_visible()
        call = calls.get(timeout=10)
    assert call["display_number"] == ticket["display_number"]
    assert call["counter"]["number"] == 1

    action(page, "start").click()
    expect(page.locator("#current-status")).to_have_text("Đang phục vụ")
    expect(page.locator("#timer-label")).to_have_text("Thời gian phục vụ")
    action(page, "finish").click()
    expect(page.locator("#current-number")).to_have_text("—")
    expect(page.locator("#message")).to_have_text(f"Đã kết thúc số {ticket['display_number']}.")
    expect(page.locator("#fig-served")).to_have_text("1")
    expect(page.locator("#fig-average")).to_have_text(re.compile(r"^\d+ giây$"))  # a few seconds, in words

    expect(tablet.locator("#screen-choices")).to_be_visible()
    expect(tablet.locator("#ticket-number")).to_have_text(f"Số {ticket['display_number']}")
    expect(tablet.locator("#choices button")).to_have_text(["Rất hài lòng", "Hài lòng", "Không hài lòng"])
    tablet.fill("#comment", "Cán bộ hướng dẫn tận tình")
    tablet.locator("#choices button[data-score='very_satisfied']").tap()
    expect(tablet.locator("#thanks-text")).to_have_text("Xin cảm ơn ông/bà đã đánh giá!")
    expect(tablet.locator("#screen-idle")).to_be_visible(timeout=15_000)

    with database(server) as db, db.read() as session:
        rating = session.exec(select(Rating).where(Rating.ticket_id == ticket["id"])).one()
        stored = session.get(Ticket, ticket["id"])
        assert stored is not None
        assert (rating.score, rating.comment, rating.source) == (
            "very_satisfied",
            "Cán bộ hướng dẫn tận tình",
            "tablet",
        )
        assert rating.counter_id == world.counters["c1"]
        assert rating.clerk_id == world.users["clerk1"]
        assert (rating.agency_id, rating.service_id) == (stored.agency_id, stored.service_id)
        assert stored.service_id == call["service_id"] and stored.agency_id == call["agency_id"]
    tablet_context.close()


def test_keyboard_shortcuts_call_recall_start_finish_mark_absent_hold_and_pause(page: Page, live_world):
    server, world = live_world
    sign_in(page, server, "clerk1")
    take_counter(page, 1)
    for label in ("Space", "R", "S", "F", "N", "T", "H", "P"):
        expect(page.locator(".actions kbd", has_text=re.compile(f"^{label}$"))).to_have_count(1)

    page.keyboard.press("Space")  # nobody waits: the refusal is shown in Vietnamese
    expect(page.locator("#message")).to_have_text("Hiện không có công dân nào chờ tại quầy này.")
    expect(page.locator("#message")).to_have_class(re.compile("error"))

    first, second, third = (issue(server, world, "TP-A") for _ in range(3))
    expect(waiting_numbers(page)).to_have_count(3)

    page.keyboard.press("Space")
    expect(page.locator("#current-number")).to_have_text(first["display_number"])
    page.keyboard.press("r")
    expect(page.locator("#current-recalls")).to_have_text("Đã gọi lại 1 lần")
    page.keyboard.press("s")
    expect(page.locator("#current-status")).to_have_text("Đang phục vụ")
    page.keyboard.press("f")
    expect(page.locator("#fig-served")).to_have_text("1")
    expect(page.locator("#current-number")).to_have_text("—")

    page.keyboard.press("F1")
    expect(page.locator("#current-number")).to_have_text(second["display_number"])
    page.keyboard.press("n")
    expect(page.locator("#fig-no-show")).to_have_text("1")
    expect(page.locator("#current-number")).to_have_text("—")

    page.keyboard.press("Enter")
    expect(page.locator("#current-number")).to_have_text(third["display_number"])
    page.keyboard.press("h")
    expect(page.locator("#hold-dialog")).to_be_visible()
    page.keyboard.type("Đi lấy giấy khai sinh")
    page.keyboard.press("Enter")
    expect(page.locator("#held-list li")).to_have_count(1)
    expect(page.locator("#held-list li")).to_contain_text(third["display_number"])
    expect(page.locator("#held-list li .note")).to_have_text("Đi lấy giấy khai sinh")

    page.keyboard.press("t")  # nobody at the counter: transfer is not available
    expect(page.locator("#transfer-dialog")).to_be_hidden()

    page.keyboard.press("p")
    expect(page.locator("#pause-dialog")).to_be_visible()
    page.keyboard.type("Nghỉ giải lao")
    page.keyboard.press("Enter")
    expect(page.locator("#paused-banner")).to_have_text("Quầy đang tạm dừng: Nghỉ giải lao")
    expect(action(page, "pause")).to_contain_text("Tiếp tục")
    expect(action(page, "next")).to_be_disabled()
    page.keyboard.press("p")
    expect(page.locator("#paused-banner")).to_be_hidden()
    expect(action(page, "pause")).to_contain_text("Tạm dừng")

    page.keyboard.press("Escape")
    page.keyboard.press("Space")  # the held citizen is not called: the line is empty
    expect(page.locator("#message")).to_have_text("Hiện không có công dân nào chờ tại quầy này.")

    page.get_by_role("button", name="Đóng quầy").click()  # leaving the counter frees it for others
    page.wait_for_url(re.compile(r"/counter/$"))
    expect(page.locator(".counter-choice[data-number='1']")).to_contain_text("Đang trống")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/counter/login$"))


def test_call_next_with_nobody_left_says_the_served_citizen_is_finished(page: Page, live_world):
    server, world = live_world
    sign_in(page, server, "clerk1")
    take_counter(page, 1)
    only = issue(server, world, "TP-A")
    expect(waiting_numbers(page)).to_have_count(1)
    page.keyboard.press("Space")
    expect(page.locator("#current-number")).to_have_text(only["display_number"])
    page.keyboard.press("s")
    expect(page.locator("#current-status")).to_have_text("Đang phục vụ")
    page.keyboard.press("Space")  # finishes the citizen; nobody else waits — not an error
    expect(page.locator("#message")).to_have_text(f"Đã kết thúc số {only['display_number']}. Không còn ai chờ.")
    expect(page.locator("#message")).not_to_have_class(re.compile("error"))
    expect(page.locator("#current-number")).to_have_text("—")
    expect(page.locator("#fig-served")).to_have_text("1")


def test_transfer_puts_the_citizen_in_the_other_agencys_line_ahead_of_later_arrivals(browser, page: Page, live_world):
    server, world = live_world
    early = issue(server, world, "TP-A")
    later = [issue(server, world, "CA-X") for _ in range(2)]
    sign_in(page, server, "clerk1")
    take_counter(page, 1)
    with open_console(browser, server, "clerk2", 3) as police:
        expect(waiting_numbers(police)).to_have_text([t["display_number"] for t in later])

        action(page, "next").click()
        expect(page.locator("#current-number")).to_have_text(early["display_number"])
        action(page, "transfer").click()
        dialog = page.locator("#transfer-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Công an tỉnh").click()
        dialog.get_by_role("button", name="Xuất nhập cảnh").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#message")).to_have_text(f"Đã chuyển số {early['display_number']} sang Xuất nhập cảnh.")
        expect(page.locator("#current-number")).to_have_text("—")

        # Counter 3 sees the transferred citizen first: they keep the time they took their number.
        expect(waiting_numbers(police)).to_have_text([early["display_number"]] + [t["display_number"] for t in later])
        police.keyboard.press("Space")
        expect(police.locator("#current-number")).to_have_text(early["display_number"])
        expect(police.locator("#current-service")).to_have_text("Xuất nhập cảnh")
    expect(page.locator("#fig-transferred")).to_have_text("1")


def test_a_held_citizen_returns_to_the_line_with_their_original_time(page: Page, live_world):
    server, world = live_world
    first = issue(server, world, "TP-A")
    second = issue(server, world, "TP-B")
    sign_in(page, server, "clerk1")
    take_counter(page, 1)
    action(page, "next").click()
    expect(page.locator("#current-number")).to_have_text(first["display_number"])
    action(page, "hold").click()
    page.fill("#hold-note", "Đi photo căn cước")
    page.locator("#hold-dialog button[value='confirm']").click()
    held = page.locator("#held-list li")
    expect(held).to_have_count(1)
    expect(held.locator(".note")).to_have_text("Đi photo căn cước")
    expect(waiting_numbers(page)).to_have_text([second["display_number"]])

    held.get_by_role("button", name="Trả về hàng chờ").click()
    expect(page.locator("#held-list li")).to_have_count(0)
    expect(waiting_numbers(page)).to_have_text([first["display_number"], second["display_number"]])
    action(page, "next").click()
    expect(page.locator("#current-number")).to_have_text(first["display_number"])


def test_a_second_clerk_cannot_take_a_held_counter_without_confirming_a_takeover(browser, page: Page, live_world):
    server, _world = live_world
    sign_in(page, server, "clerk1")
    take_counter(page, 1)

    other = browser.new_context(locale="vi-VN")
    try:
        second = other.new_page()
        sign_in(second, server, "clerk2")
        taken = second.locator(".counter-choice[data-number='1']")
        expect(taken).to_contain_text("Đang do clerk1 sử dụng")
        taken.click()
        dialog = second.locator("#takeover-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Quầy 1 đang do clerk1 sử dụng")
        dialog.get_by_role("button", name="Hủy").click()
        expect(dialog).to_be_hidden()
        expect(second).to_have_url(re.compile(r"/counter/$"))
        expect(page.locator("#taken-banner")).to_be_hidden()

        taken.click()
        dialog.get_by_role("button", name="Nhận thay quầy").click()
        second.wait_for_url(CONSOLE_URL)
        console_ready(second)
        # The first clerk's console learns it no longer holds the counter and stops offering actions.
        expect(page.locator("#taken-banner")).to_be_visible()
        expect(action(page, "next")).to_be_disabled()
    finally:
        other.close()


def test_a_crashed_browser_finds_the_current_ticket_after_signing_in_again(browser, live_world):
    server, world = live_world
    ticket = issue(server, world, "TP-A")
    crashed = browser.new_context(locale="vi-VN")
    page = crashed.new_page()
    sign_in(page, server, "clerk1")
    take_counter(page, 1)
    page.keyboard.press("Space")
    page.keyboard.press("s")
    expect(page.locator("#current-status")).to_have_text("Đang phục vụ")
    crashed.close()  # the browser dies mid-service: no sign-out, no closing of the counter

    again = browser.new_context(locale="vi-VN")
    try:
        page = again.new_page()
        sign_in(page, server, "clerk1")
        expect(page).to_have_url(CONSOLE_URL)  # straight back to the counter the clerk holds
        console_ready(page)
        expect(page.locator("#current-number")).to_have_text(ticket["display_number"])
        expect(page.locator("#current-status")).to_have_text("Đang phục vụ")
        expect(page.locator("#timer")).not_to_have_text("00:00", timeout=5_000)
        page.keyboard.press("f")
        expect(page.locator("#fig-served")).to_have_text("1")
    finally:
        again.close()


def test_a_lost_connection_is_shown_and_locks_the_actions_until_it_is_back(page: Page, live_world):
    server, world = live_world
    ticket = issue(server, world, "TP-A")
    sign_in(page, server, "clerk1")
    take_counter(page, 1)
    page.keyboard.press("Space")
    expect(page.locator("#current-number")).to_have_text(ticket["display_number"])

    server.kill()
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Mất kết nối với máy chủ")
    expect(page.locator("#connection")).to_have_text("Mất kết nối")
    for name in ("next", "recall", "start", "finish", "no-show", "transfer", "hold", "pause"):
        expect(action(page, name)).to_be_disabled()
    page.keyboard.press("s")  # ignored while offline, not lost in a queue
    expect(page.locator("#current-status")).to_have_text("Đã gọi, đang chờ công dân đến quầy")

    server.start()
    expect(banner).to_be_hidden(timeout=20_000)
    console_ready(page)
    expect(page.locator("#current-number")).to_have_text(ticket["display_number"])
    expect(page.locator("#current-status")).to_have_text("Đã gọi, đang chờ công dân đến quầy")
    page.keyboard.press("s")
    expect(page.locator("#current-status")).to_have_text("Đang phục vụ")


# ------------------------------------------------------------------ what the console says


def test_the_console_warns_before_the_recall_that_marks_absent_and_says_when_it_did(page: Page, live_world):
    server, world = live_world  # the site's rules: recall_limit 3, no_show_after_recall_limit on
    sign_in(page, server, "clerk1")
    take_counter(page, 1)
    ticket = issue(server, world, "TP-A")
    expect(waiting_numbers(page)).to_have_count(1)
    page.keyboard.press("Space")
    expect(page.locator("#current-number")).to_have_text(ticket["display_number"])
    for count in (1, 2):
        page.keyboard.press("r")
        expect(page.locator("#current-recalls")).to_have_text(f"Đã gọi lại {count} lần")
        expect(page.locator("#message")).to_have_text("Đã gọi lại số 1001.")
    page.keyboard.press("r")  # the third recall: the next one will mark the citizen absent, and the clerk is told
    expect(page.locator("#message")).to_have_text("Đã gọi lại số 1001. Gọi lại thêm một lần nữa sẽ ghi vắng mặt.")
    expect(page.locator("#current-recalls")).to_have_text("Đã gọi lại 3 lần: lần gọi lại tiếp theo sẽ ghi vắng mặt")
    expect(action(page, "recall")).to_have_class(re.compile(r"\blast\b"))
    page.keyboard.press("r")  # past the limit: not a recall but "not present", and the message says so
    expect(page.locator("#message")).to_have_text("Đã ghi nhận vắng mặt: số 1001 không đến sau 4 lần gọi.")
    expect(page.locator("#current-number")).to_have_text("—")
    expect(page.locator("#fig-no-show")).to_have_text("1")
    with database(server) as db, db.read() as session:
        assert session.get(Ticket, ticket["id"]).status == "no_show"


def test_a_clerk_cannot_close_or_sign_out_while_a_citizen_is_called_and_is_told_why(page: Page, live_world):
    server, world = live_world
    sign_in(page, server, "clerk1")
    take_counter(page, 1)
    issue(server, world, "TP-A")
    expect(waiting_numbers(page)).to_have_count(1)
    page.keyboard.press("Space")
    expect(page.locator("#current-number")).to_have_text("1001")
    for button in ("Đóng quầy", "Đăng xuất"):
        page.locator("#message").evaluate("m => { m.textContent = ''; m.hidden = true; }")
        page.get_by_role("button", name=button).click()
        expect(page.locator("#message")).to_have_text("Hãy kết thúc hoặc ghi vắng mặt số 1001 trước.")
        expect(page.locator("#message")).to_have_class(re.compile("error"))
        assert CONSOLE_URL.search(page.url)  # still at the counter, still signed in
    page.keyboard.press("n")
    expect(page.locator("#current-number")).to_have_text("—")
    page.get_by_role("button", name="Đăng xuất").click()  # nobody at the counter now: it closes and signs out
    page.wait_for_url(re.compile(r"/counter/login$"))


def test_the_average_service_time_is_written_in_minutes_and_seconds(page: Page, live_world):
    server, world = live_world
    sign_in(page, server, "clerk1")
    take_counter(page, 1)
    issue(server, world, "TP-A")
    expect(waiting_numbers(page)).to_have_count(1)
    for key in ("Space", "s", "f"):
        page.keyboard.press(key)
    expect(page.locator("#fig-served")).to_have_text("1")
    with database(server) as db, db.write() as session:  # the service took 65 s (the log is the clock's word)
        started = session.exec(select(TicketEvent).where(TicketEvent.kind == "started")).one()
        finished = session.exec(select(TicketEvent).where(TicketEvent.kind == "finished")).one()
        finished.at = started.at + timedelta(seconds=65)
        session.add(finished)
    page.reload()
    console_ready(page)
    expect(page.locator("#fig-average")).to_have_text("1 phút 5 giây")


def test_the_counter_picker_groups_counters_by_agency_and_offers_the_clerks_usual_counter_first(page: Page, live_world):
    server, _world = live_world
    sign_in(page, server, "clerk1")
    groups = page.locator(".agency-group")
    expect(groups).to_have_count(2)
    expect(groups.nth(0).locator("h3")).to_have_text("Sở Tư pháp")
    expect(groups.nth(0).locator(".counter-choice")).to_have_count(2)  # counters 1 and 2
    expect(groups.nth(1).locator("h3")).to_have_text("Công an tỉnh")
    expect(groups.nth(1).locator(".counter-choice[data-number='3']")).to_have_count(1)
    expect(page.locator(".usual-counter")).to_have_count(0)  # never opened a counter yet

    take_counter(page, 2)
    page.get_by_role("button", name="Đóng quầy").click()
    page.wait_for_url(re.compile(r"/counter/$"))
    shortcut = page.locator(".usual-counter .counter-shortcut")
    expect(shortcut).to_have_attribute("data-number", "2")
    expect(shortcut).to_contain_text("Sở Tư pháp")
    expect(page.locator(".counter-choice.usual")).to_have_attribute("data-number", "2")
    expect(page.locator(".counter-choice.usual .usual-mark")).to_have_text("Quầy thường dùng của bạn")
    shortcut.click()  # one tap back to the usual desk
    page.wait_for_url(re.compile(r"/counter/\d+(\?.*)?$"))
    console_ready(page)
    expect(page.locator(".topbar .desk")).to_contain_text("Quầy 2")
