"""Every screen of the hall at the sizes it is used at, on the demo centre (20 agencies, 43 counters) with a busy
line, in real Chromium: the tiles and lines all on screen (or on pages that together show them all), no text
overflowing its box (measured element by element, tests/support/screens.py), the called number's digits at least
10 % of a board's height. Each screen is saved as a PNG under test-artifacts/screens/ (ignored by git) to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from server.demo_data import AGENCIES, DEMO_PASSWORDS
from tests.support.busy_hall import (
    BOARD_TOKEN,
    COUNTER_DISPLAY_TOKEN,
    GRID_BOARD_TOKEN,
    KIOSK_TOKEN,
    PAUSED_COUNTER,
    PAUSED_DISPLAY_TOKEN,
    RATING_TOKEN,
    TABLET_COUNTER,
    WAITING,
    BusyHall,
    first_counters,
    start_busy_hall,
)
from tests.support.screens import glyph_height_reaching, layout_report, screenshot, within

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOWN = 20_000  # ms: an upper bound for a loaded machine; expect() returns as soon as the page matches
LINE_MIN_VMIN = 5  # the boards' smallest type, in % of the screen's shorter side (README: Hall boards)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BusyHall]:
    hall = start_busy_hall(tmp_path_factory.mktemp("busy-hall") / "instance")
    try:
        yield hall
    finally:
        hall.server.stop()


@pytest.fixture
def screen(browser, request: pytest.FixtureRequest):
    """A fresh browser context at a given size: screen(width, height, lang="vi") → Page."""
    contexts = []

    def open_screen(width: int, height: int) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
        contexts.append(context)
        return context.new_page()

    yield open_screen
    for context in contexts:
        context.close()


def no_layout_problems(page: Page, page_scrolls: bool = False) -> dict[str, Any]:
    report = layout_report(page, page_scrolls)
    assert report["problems"] == [], "\n".join(report["problems"])
    return report


# ------------------------------------------------------------------ kiosk


def open_kiosk(page: Page, hall: BusyHall, lang: str) -> None:
    page.goto(f"{hall.url}/kiosk/?token={KIOSK_TOKEN}&lang={lang}")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\b(connecting|offline|loading)\b"), timeout=SHOWN)
    expect(page.locator("[data-agency]")).to_have_count(len(AGENCIES))


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_the_kiosk_shows_all_twenty_agencies_on_one_screen_with_the_check_in_button(
    screen, hall: BusyHall, width: int, height: int, lang: str
):
    page = screen(width, height)
    open_kiosk(page, hall, lang)
    screenshot(page, f"kiosk-{width}x{height}-{lang}")
    assert page.evaluate("window.__luotKiosk.pages('agencies')") == [[0, len(AGENCIES)]]  # one page, no pager
    expect(page.locator("#agencies-pager")).to_be_hidden()
    tiles = page.locator("[data-agency]")
    for index in range(len(AGENCIES)):
        assert within(tiles.nth(index).bounding_box(), width, height), f"agency tile {index} is off screen"
        assert tiles.nth(index).bounding_box()["height"] >= 100  # still a large target
    check_in = page.locator(".open-appointment")
    expect(check_in).to_be_visible()
    assert within(check_in.bounding_box(), width, height)
    report = no_layout_problems(page)
    assert report["minFont"] >= 20

    tiles.nth(0).click()  # the services of an agency, the check-in button still there
    expect(page.locator("#screen-services")).to_be_visible()
    assert within(page.locator(".open-appointment").bounding_box(), width, height)
    for index in range(page.locator("[data-service]").count()):
        assert within(page.locator("[data-service]").nth(index).bounding_box(), width, height)
    no_layout_problems(page)
    screenshot(page, f"kiosk-{width}x{height}-{lang}-services")


@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_the_kiosk_search_shows_its_results_and_keyboard_on_one_screen(screen, hall: BusyHall, width, height):
    page = screen(width, height)
    open_kiosk(page, hall, "vi")
    page.locator("#open-search").click()
    for letter in "dang ky":
        keys = page.locator("#search-keys .key")
        (keys.filter(has_text="Dấu cách") if letter == " " else keys.filter(has_text=re.compile(f"^{letter}$"))).click()
    results = page.locator("[data-result]")
    expect(results.first).to_contain_text("Đăng ký")
    found = results.count()
    assert found >= 5  # Đăng ký doanh nghiệp, thuế, đất đai… and the Land Registration Office's services
    pages = page.evaluate("window.__luotKiosk.pages('results')")
    assert pages[0][0] == 0 and pages[-1][1] == found
    screenshot(page, f"kiosk-{width}x{height}-search")
    for number, (first, end) in enumerate(pages):
        shown = page.locator("[data-result]:visible")
        expect(shown).to_have_count(end - first)
        for index in range(end - first):
            assert within(shown.nth(index).bounding_box(), width, height)
        no_layout_problems(page)
        if number + 1 < len(pages):
            page.locator("#results-pager .page-turn[data-step='1']").click()
    for key in ("q", "ư", "Dấu cách", "Xóa hết"):
        assert within(page.locator("#search-keys .key", has_text=key).first.bounding_box(), width, height), key


def test_a_kiosk_that_cannot_fit_its_tiles_turns_pages_with_large_buttons(screen, hall: BusyHall):
    page = screen(800, 600)  # a small kiosk screen: 20 agencies do not fit at a size an elderly citizen can read
    open_kiosk(page, hall, "vi")
    pages = page.evaluate("window.__luotKiosk.pages('agencies')")
    assert len(pages) > 1 and pages[0][0] == 0 and pages[-1][1] == len(AGENCIES)
    assert all(a[1] == b[0] for a, b in pairwise(pages))  # every tile on exactly one page
    turn = page.locator("#agencies-pager .page-turn[data-step='1']")
    expect(turn).to_be_visible()
    assert turn.bounding_box()["height"] >= 60
    for number, (first, end) in enumerate(pages, start=1):
        expect(page.locator("#agencies-page-of")).to_have_text(f"{number} / {len(pages)}")
        visible = page.locator("[data-agency]:visible")
        expect(visible).to_have_count(end - first)
        for index in range(end - first):
            assert within(visible.nth(index).bounding_box(), 800, 600)
        no_layout_problems(page)
        screenshot(page, f"kiosk-800x600-page-{number}")
        if number < len(pages):
            turn.click()
    expect(turn).to_be_disabled()


# ------------------------------------------------------------------ hall boards


def open_board(page: Page, hall: BusyHall, token: str, lang: str = "vi") -> None:
    page.goto(f"{hall.url}/display/?token={token}&lang={lang}")
    page.wait_for_function("window.__luotBoard && window.__luotBoard.snapshots > 0")
    page.evaluate("document.fonts.ready")
    expect(page.locator("#latest .fill-number")).to_be_visible()


def show_page(page: Page, panel: str, number: int) -> list[dict[str, Any]]:
    """Holds page `number` of a board panel and returns its shown lines' keys and boxes, read in the same instant."""
    return page.evaluate(
        """([panel, number]) => {
            window.__luotBoard.showPage(panel, number);
            const list = document.getElementById(panel === "waiting" ? "waiting" : "counter-grid");
            return [...list.children].filter((item) => !item.hidden).map((item) => {
                const r = item.getBoundingClientRect();
                return { key: item.dataset.key, x: r.x, y: r.y, width: r.width, height: r.height };
            });
        }""",
        [panel, number],
    )


def check_board(page: Page, hall: BusyHall, name: str, width: int, height: int) -> None:
    """The called number's digits ≥ 10 % of the height, every line ≥ 5vmin and inside its box, and every agency
    with people waiting shown on one of the waiting panel's pages."""
    assert glyph_height_reaching(page, "#latest .fill-number", 0.10 * height) >= 0.10 * height
    busy = {str(agency) for agency, count in hall.waiting_by_agency().items() if count}
    page.wait_for_function("n => window.__luotBoard.pages().waiting.flat().length === n", arg=len(busy))
    pages = page.evaluate("window.__luotBoard.pages().waiting")
    shown = [key for keys in pages for key in keys]
    assert len(shown) == len(set(shown)) and set(shown) == busy
    for number in range(len(pages)):
        shown = show_page(page, "waiting", number)
        assert [line["key"] for line in shown] == pages[number]
        assert all(within(line, width, height) for line in shown)
        report = no_layout_problems(page)
        assert report["minFont"] >= LINE_MIN_VMIN / 100 * min(width, height) - 0.5
        screenshot(page, f"{name}-waiting-{number + 1}")


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_the_hall_board_fits_its_screen_without_any_orientation_setting(screen, hall: BusyHall, width, height):
    page = screen(width, height)
    open_board(page, hall, BOARD_TOKEN)
    expected = "portrait" if height > width else "landscape"
    expect(page.locator("body")).to_have_class(re.compile(rf"\b{expected}\b"))
    screenshot(page, f"board-{width}x{height}")
    expect(page.locator("#calls tr").first).to_be_visible()
    check_board(page, hall, f"board-{width}x{height}", width, height)


def test_the_english_board_uses_english_names_and_never_starts_a_line_with_a_comma(screen, hall: BusyHall):
    page = screen(1080, 1920)
    open_board(page, hall, BOARD_TOKEN, "en")
    screenshot(page, "board-1080x1920-en")
    expect(page.locator("#waiting")).to_contain_text("Department of Justice")
    expect(page.locator("#waiting")).not_to_contain_text("Sở Tư pháp")
    # Each piece of the call line starts on the line where the piece before it ends, unless it is a word.
    starts = page.locator("#latest .latest-line").evaluate(
        """line => [...line.querySelectorAll('.fill-text')].filter(t => /^[,.;:!?]/.test(t.textContent))
             .map(t => t.getBoundingClientRect().top - t.parentElement.firstElementChild.getBoundingClientRect().top)"""
    )
    assert starts and all(abs(offset) < 200 for offset in starts)
    commas = page.locator("#latest .glue")
    expect(commas).to_have_count(1)
    assert commas.evaluate("g => g.getClientRects().length") == 1  # the number and its comma on one line
    check_board(page, hall, "board-1080x1920-en", 1080, 1920)


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_the_counter_grid_board_shows_every_open_counter_with_its_number(screen, hall: BusyHall, width, height):
    page = screen(width, height)
    open_board(page, hall, GRID_BOARD_TOKEN)
    screenshot(page, f"board-grid-{width}x{height}")
    open_counters = {str(hall.counter_ids[number]) for number in hall.open_counters}
    pages = page.evaluate("window.__luotBoard.pages().counters")
    assert {key for keys in pages for key in keys} == open_counters
    newest = hall.calls[-1]["counter"]
    for number in range(len(pages)):
        shown = show_page(page, "counters", number)
        assert [cell["key"] for cell in shown] == pages[number]
        assert all(within(cell, width, height) for cell in shown)
        no_layout_problems(page)
        screenshot(page, f"board-grid-{width}x{height}-counters-{number + 1}")
    newest_cell = page.locator("#counter-grid li.newest")
    expect(newest_cell).to_have_count(1)
    assert newest_cell.get_attribute("data-key") == str(newest["id"])
    paused = page.locator(f"#counter-grid li[data-key='{hall.counter_ids[PAUSED_COUNTER]}']")
    expect(paused).to_have_class(re.compile(r"\bpaused\b"))
    assert glyph_height_reaching(page, "#latest .fill-number", 0.10 * height) >= 0.10 * height


def test_a_board_that_cannot_show_every_agency_leaves_out_those_nobody_waits_for(screen, hall: BusyHall):
    religion = [agency[0] for agency in AGENCIES].index("SDTTG")  # 2 waiting, one counter
    counter = first_counters()[religion]
    for _ in range(WAITING[religion]):  # the citizen at the counter did not come, nor did the next ones
        hall.act(counter, "no-show")
        hall.act(counter, "next")
    hall.act(counter, "no-show")
    page = screen(1920, 1080)
    open_board(page, hall, BOARD_TOKEN)
    page.wait_for_function(
        "n => window.__luotBoard.pages().waiting.flat().length === n", arg=len(AGENCIES) - 1, timeout=SHOWN
    )
    shown = {key for keys in page.evaluate("window.__luotBoard.pages().waiting") for key in keys}
    agency_ids = page.evaluate("[...document.querySelectorAll('#waiting li')].map(li => li.dataset.agencyId)")
    assert len(shown) == len(AGENCIES) - 1 and set(agency_ids) == shown  # 19 agencies with people waiting
    assert page.locator("#waiting li.nobody").count() == 0
    screenshot(page, "board-1920x1080-zeros-hidden")


# ------------------------------------------------------------------ counter display


def test_the_counter_display_shows_the_number_and_a_paused_counter_shows_only_that(screen, hall: BusyHall):
    page = screen(800, 480)
    page.goto(f"{hall.url}/display/counter?token={COUNTER_DISPLAY_TOKEN}")
    expect(page.locator("#counter-number")).to_have_text(hall.calls[0]["ticket"]["display_number"], timeout=SHOWN)
    expect(page.locator("#counter-agency")).to_have_text("Sở Tư pháp")
    no_layout_problems(page)
    screenshot(page, "counter-display-800x480")

    paused = screen(800, 480)
    paused.goto(f"{hall.url}/display/counter?token={PAUSED_DISPLAY_TOKEN}")
    expect(paused.locator("#counter-state")).to_have_text("Quầy tạm dừng phục vụ", timeout=SHOWN)
    expect(paused.locator("#counter-name")).to_have_text(f"Quầy {PAUSED_COUNTER}")
    expect(paused.locator("#counter-agency")).to_have_text("Sở Tài chính")
    expect(paused.locator("#counter-serving")).to_be_hidden()  # no "ĐANG PHỤC VỤ" above the paused state
    expect(paused.locator("body")).not_to_contain_text("ĐANG PHỤC VỤ")
    no_layout_problems(paused)
    screenshot(paused, "counter-display-800x480-paused")

    hall.act(PAUSED_COUNTER, "resume")  # back to the idle state, with its words and no number
    expect(paused.locator("#counter-serving")).to_be_visible(timeout=SHOWN)
    expect(paused.locator("#counter-state")).to_have_text("Vui lòng chờ số tiếp theo")
    hall.act(PAUSED_COUNTER, "pause", {"reason": "Họp giao ban"})
    expect(paused.locator("#counter-serving")).to_be_hidden(timeout=SHOWN)


# ------------------------------------------------------------------ clerks: picker and console


def sign_in(page: Page, hall: BusyHall, number: int) -> None:
    page.goto(f"{hall.url}/counter/login")
    page.fill("#username", f"clerk{number:02d}")
    page.fill("#password", DEMO_PASSWORDS["clerk"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/counter/(\d+)?(\?.*)?$"))


def test_the_counter_picker_of_the_demo_centre_is_grouped_by_agency(screen, hall: BusyHall):
    page = screen(1366, 768)
    sign_in(page, hall, 3)  # a clerk holding no counter (Sở Tư pháp's third): the picker
    groups = page.locator(".agency-group")
    expect(groups).to_have_count(len(AGENCIES))
    expect(groups.nth(0).locator("h3")).to_have_text(AGENCIES[0][1])
    expect(groups.nth(0).locator(".counter-choice")).to_have_count(AGENCIES[0][3])
    expect(page.locator(".counter-choice")).to_have_count(sum(agency[3] for agency in AGENCIES))
    screenshot(page, "picker-1366x768")
    screenshot(page, "picker-1366x768-full", full_page=True)
    no_layout_problems(page, page_scrolls=True)


def test_the_console_fits_1366_by_768_with_a_citizen_called_and_a_long_line(screen, hall: BusyHall):
    tax = [agency[0] for agency in AGENCIES].index("THUE")
    number = first_counters()[tax]  # Thuế tỉnh's first counter: a citizen called, 14 waiting
    page = screen(1366, 768)
    sign_in(page, hall, number)
    expect(page.locator("#connection")).to_have_text("Đã kết nối", timeout=SHOWN)
    expect(page.locator("#current-number")).not_to_have_text("—")
    expect(page.locator("#waiting-list li")).to_have_count(WAITING[tax])
    screenshot(page, "console-1366x768")
    no_layout_problems(page)
    for selector in ("#current-number", "[data-action='next']", "[data-action='recall']", "#fig-average", "#logout"):
        assert within(page.locator(selector).bounding_box(), 1366, 768), selector


# ------------------------------------------------------------------ the citizen's screens


def test_the_rating_tablet_fits_1280_by_800_idle_and_with_the_choices(screen, hall: BusyHall):
    page = screen(1280, 800)
    page.goto(f"{hall.url}/counter/rating?token={RATING_TOKEN}")
    page.wait_for_load_state("networkidle")
    screenshot(page, "tablet-1280x800-idle")
    no_layout_problems(page)
    hall.act(TABLET_COUNTER, "start")
    hall.act(TABLET_COUNTER, "finish")
    expect(page.locator("[data-score]").first).to_be_visible(timeout=SHOWN)
    screenshot(page, "tablet-1280x800-choices")
    no_layout_problems(page)
    for index in range(page.locator("[data-score]").count()):
        assert within(page.locator("[data-score]").nth(index).bounding_box(), 1280, 800)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_phone_page_fits_390_by_844_and_names_the_service_in_its_language(screen, hall: BusyHall, lang: str):
    waiting = hall.issue("CA-XNC")  # Công an tỉnh, behind 2 others
    page = screen(390, 844)
    page.goto(f"{hall.url}/t/{hall.tracking_token(waiting['display_number'])}?lang={lang}")
    expect(page.locator("#ahead")).not_to_have_text("—", timeout=SHOWN)
    agency = "Provincial Police" if lang == "en" else "Công an tỉnh"  # the demo's services have no English names
    expected = f"Xuất nhập cảnh, hộ chiếu · {agency}"
    expect(page.locator("#my-service")).to_have_text(expected)
    screenshot(page, f"phone-390x844-{lang}")
    no_layout_problems(page)
