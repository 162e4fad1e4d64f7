"""At the kiosk, a booking is checked in by scanning the chip ID card's QR code: the scanner types the card's text
into the code field and presses Enter (Chromium, a real server process, Wednesday 08:00 in Hà Nội)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from server.process import ServerProcess
from tests.support.booking_world import booking_server, slot
from tests.support.citizen_cookies import citizen_cookie, instance_secret

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "booking"
CARD_TEXT = "001099012345|123456789|Nguyễn Văn A|01011990|Nam|Số 1 Phố X, Hà Nội|15082021"
SHOWN = 15_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with booking_server(tmp_path) as process:
        yield process


def test_scanning_the_id_card_at_the_kiosk_checks_in_todays_booking(server: ServerProcess, page: Page):
    citizen = requests.Session()
    citizen.cookies.set(
        "session", citizen_cookie(instance_secret(server.settings()), "+84901234567"), domain="127.0.0.1"
    )
    booked = citizen.post(
        f"{server.url}/book/HN/bookings",
        json={"service": "TP-A", "slot": slot(8, 15), "card": "001099012345"},
        timeout=10,
    )
    assert booked.status_code == 201, booked.text

    page.goto(f"{server.url}/kiosk/?token=kiosk-token-1")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\b(connecting|offline|loading)\b"), timeout=SHOWN)
    page.locator(".open-appointment").first.click()
    expect(page.locator("#appointment-code")).to_have_attribute("placeholder", re.compile("thẻ căn cước"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "kiosk-check-in.png"))
    page.locator("#appointment-code").focus()
    page.keyboard.type(CARD_TEXT)  # a QR scanner is a keyboard
    page.keyboard.press("Enter")
    expect(page.locator("#ticket-number")).to_have_text("1001", timeout=SHOWN)
    expect(page.locator("#ticket-service")).to_have_text("Cấp phiếu lý lịch tư pháp")
    again = page.locator(".open-appointment").first
    expect(again).to_be_visible(timeout=SHOWN * 2)  # back to the start by itself
