"""Staff book for a citizen who phones, see the day's bookings per service and cancel one (Chromium, a real
server process whose clock starts on Wednesday 08:00 in Hà Nội)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.process import ServerProcess
from tests.support.booking_world import booking_server
from tests.support.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "booking"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with booking_server(tmp_path) as process:
        yield process


def test_staff_book_for_a_caller_see_the_day_and_cancel(server: ServerProcess, page: Page):
    page.goto(f"{server.url}/dashboard/login?next=/book/HN/staff")
    page.fill("input[name=username]", "clerk2")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/book/HN/staff*")
    expect(page.locator("#staff-date")).to_have_value("2026-11-18")
    expect(page.locator("#staff-service option")).to_have_count(2)  # TP-A and CA-X take bookings
    page.select_option("#staff-service", "TP-A")
    page.wait_for_function("document.querySelectorAll('#staff-slot option').length > 0")
    page.select_option("#staff-slot", "2026-11-18T09:00:00+07:00")
    page.fill("#staff-card", "001099012345")
    page.click("#staff-form button[type=submit]")
    expect(page.locator("#staff-result")).to_contain_text("2026-11-18 09:00")
    code = page.locator("#staff-result").get_attribute("data-code")
    row = page.locator(f"tr[data-code='{code}']")
    expect(row).to_contain_text("Đã đặt")
    expect(row).to_contain_text("Cán bộ đặt")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff-day.png"), full_page=True)
    row.locator("button[data-action=cancel]").click()
    expect(page.locator(f"tr[data-code='{code}'] [data-status]")).to_have_attribute("data-status", "cancelled")
    expect(page.locator(f"tr[data-code='{code}']")).to_contain_text("Đã hủy")
