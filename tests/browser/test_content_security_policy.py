"""Issue 14, item 12: the surfaces work under their Content-Security-Policy (no inline script, no eval).

Pages are opened with the policy enforced (bypass_csp=False) and Chromium's console is watched for any
"Refused to …" report; each page must also show that its script ran (expect() polls without eval).
"""

from __future__ import annotations

import re

import pytest

from tests.support.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def strict_page(browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN", bypass_csp=False)
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("pageerror", lambda error: refused.append(str(error)))
    yield page, refused
    context.close()


def test_the_surfaces_run_under_their_policy(strict_page, live_world):
    from playwright.sync_api import expect

    page, refused = strict_page
    server, world = live_world
    page.goto(f"{server.url}/display/?token={world.board_token}")
    expect(page.locator("#latest")).to_contain_text("Hôm nay chưa gọi số nào")
    page.goto(f"{server.url}/kiosk/?token={world.kiosk_token}")
    expect(page.locator("body")).to_contain_text("Sở Tư pháp")
    page.goto(f"{server.url}/counter/login")
    expect(page.locator("#login-form")).to_be_visible()
    page.goto(f"{server.url}/dashboard/login?next=/dashboard/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/dashboard/*")
    expect(page.locator("#status")).to_have_attribute("data-online", "true")
    # The site picker (province admin) sends its form by script, not by an inline handler.
    picker = page.locator("select[name=site]")
    other = picker.locator("option").nth(1).get_attribute("value")
    picker.select_option(other)
    page.wait_for_url(re.compile(rf"[?&]site={other}\b"))
    assert refused == []
