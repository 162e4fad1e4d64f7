"""The kiosk: a citizen taps an agency and a service in real Chromium and the ticket shown on screen is the
ticket a (fake, real-socket) network printer receives; double taps, a lost server, closed and capped services,
paper out, appointment check-in, both screen orientations. Plus the page's own routes, in process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from babel.messages.pofile import read_po
from playwright.sync_api import Page, Route, expect
from sqlmodel import select

from kiosk.routes import KIOSK_MESSAGES
from server.clock import LOCAL_TZ
from server.db import Database
from server.domain.vocabulary import PRIORITY_CLASSES
from server.models import Appointment, Service, Ticket
from server.printing.escpos_decode import decode_escpos
from server.printing.layout import load_builtin_layout
from server.printing.render_image import render_ticket_image
from server.printing.ticket_data import TicketPrint
from server.process import ServerProcess
from tests.integration.test_print_jobs import (
    LOOPBACK_PRINTERS,
    PAPER_OUT,
    STATUS_OK,
    PrinterListener,
    configure_kiosk,
    same_image,
)
from tests.support.lost_answers import unconfirmed_body
from tests.support.world import World, build_world

ROOT = Path(__file__).resolve().parents[2]
SHOWN = 20_000  # ms: an upper bound for a loaded machine; expect() returns as soon as the page matches
RECONNECTED = 30_000  # Socket.IO backs off up to 10 s between attempts
WEDNESDAY_9AM = "2026-11-18T09:00:00+07:00"
CENTRE = "Trung tâm Phục vụ hành chính công thử nghiệm"
PAPER_OUT_TEXT = "Máy in hết giấy — vui lòng liên hệ quầy hướng dẫn"


class KioskServer(ServerProcess):
    """A live server (its log file closed in this process) that can count the tickets in its database."""

    def db(self) -> Database:
        return Database(self.settings())

    def tickets(self) -> list[Ticket]:
        db = self.db()
        try:
            with db.read() as session:
                return list(session.exec(select(Ticket).order_by(Ticket.id)).all())
        finally:
            db.dispose()


def populate(printer_spec: str):
    def build(db: Database) -> World:
        world = build_world(db)
        configure_kiosk(db, printer=printer_spec, layout="ticket_80mm", return_seconds=600)
        with db.write() as session:
            tp_b = session.exec(select(Service).where(Service.code == "TP-B")).one()
            tp_b.opening_hours = {"days": [0, 1, 2, 3, 4], "periods": [["13:30", "17:00"]]}  # afternoons only
            session.add(tp_b)
            ca_x = session.exec(select(Service).where(Service.code == "CA-X")).one()
            session.add(
                Appointment(
                    site_id=world.site_id,
                    service_id=ca_x.id or 0,
                    code="HEN123",
                    slot_at=datetime(2026, 11, 18, 9, 30, tzinfo=LOCAL_TZ),
                )
            )
        return world

    return build


@pytest.fixture
def printer() -> Iterator[PrinterListener]:
    with PrinterListener() as listener:
        yield listener


@pytest.fixture
def kiosk_server(tmp_path: Path, printer: PrinterListener) -> Iterator[KioskServer]:
    server = KioskServer(tmp_path / "instance", env={"LUOT_CLOCK_START": WEDNESDAY_9AM, **LOOPBACK_PRINTERS})
    server.prepare(populate(printer.spec))
    server.start()
    yield server
    server.stop()


def open_kiosk(page: Page, server: KioskServer, lang: str = "") -> None:
    page.goto(f"{server.url}/kiosk/?token=kiosk-token-1{'&lang=' + lang if lang else ''}")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\b(connecting|offline|loading)\b"), timeout=SHOWN)


def agency(page: Page, name: str):
    return page.locator("[data-agency]", has_text=name)


def service(page: Page, code: str):
    return page.locator(f'[data-service="{code}"]')


def ticket_posts(page: Page) -> list[str]:
    """Records every POST /api/v1/tickets the page sends."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" and "/api/v1/tickets" in r.url else None)
    return sent


# ------------------------------------------------------------------ in Chromium


@pytest.mark.browser
@pytest.mark.slow
def test_tapping_an_agency_and_a_service_shows_the_ticket_the_printer_prints(
    page: Page, kiosk_server: KioskServer, printer: PrinterListener
):
    open_kiosk(page, kiosk_server)
    agency(page, "Sở Tư pháp").click()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/tickets")) as issued:
        service(page, "TP-A").click()
    assert issued.value.status == 201
    expect(page.locator("#ticket-number")).to_have_text("1001")
    expect(page.locator("#ticket-service")).to_have_text("Cấp phiếu lý lịch tư pháp")
    expect(page.locator("#ticket-ahead")).to_have_text("Sắp đến lượt quý vị")
    expect(page.locator("#ticket-counters")).to_have_text("Quầy phục vụ: 1, 2")
    page.wait_for_function("document.getElementById('ticket-qr').naturalWidth > 0")  # the server's SVG QR
    expect(page.locator("#ticket-print")).to_have_text("Mời quý vị nhận phiếu in.", timeout=SHOWN)

    (job,) = printer.wait_for_tickets(1)
    decoded = decode_escpos(job)
    assert decoded.width_dots == 576 and decoded.has_cut and len(decoded.images) == 1
    (row,) = kiosk_server.tickets()
    expected = TicketPrint(
        centre_name=CENTRE,
        agency="Sở Tư pháp",
        service="Cấp phiếu lý lịch tư pháp",
        display_number="1001",
        waiting_ahead=0,
        estimated_wait_minutes=None,
        issued_at=row.issued_at,
        counters=("Quầy 1", "Quầy 2"),
        tracking_url=f"{kiosk_server.url}/t/{row.tracking_token}",
        wait_note="Chưa có quầy mở",  # no clerk opened a counter: no minutes are promised
    )
    assert same_image(decoded.images[0], render_ticket_image(expected, load_builtin_layout("ticket_80mm")))


@pytest.mark.browser
@pytest.mark.slow
def test_a_double_tap_gives_one_ticket(page: Page, kiosk_server: KioskServer, printer: PrinterListener):
    posts = ticket_posts(page)
    open_kiosk(page, kiosk_server)
    agency(page, "Sở Tư pháp").click()
    service(page, "TP-A").dblclick()
    expect(page.locator("#ticket-number")).to_have_text("1001")
    page.locator("#ticket-done").click()

    agency(page, "Công an tỉnh").click()
    service(page, "CA-X").evaluate("tile => { tile.click(); tile.click(); }")  # two taps in the same instant
    expect(page.locator("#ticket-number")).to_have_text("A001")

    assert [t.display_number for t in kiosk_server.tickets()] == ["1001", "A001"]
    assert len(posts) == 2  # the button was disabled while its request ran
    assert len(printer.wait_for_tickets(2)) == 2


@pytest.mark.browser
@pytest.mark.slow
def test_without_the_server_the_kiosk_says_so_issues_nothing_and_recovers_without_reload(
    page: Page, kiosk_server: KioskServer, printer: PrinterListener
):
    posts = ticket_posts(page)
    open_kiosk(page, kiosk_server)
    page.evaluate("window.sameDocument = true")
    agency(page, "Sở Tư pháp").click()
    expect(service(page, "TP-A")).to_be_enabled()

    kiosk_server.stop()
    expect(page.locator("#offline-banner")).to_be_visible(timeout=SHOWN)
    expect(page.locator("#offline-banner")).to_contain_text("Mất kết nối với máy chủ")
    expect(service(page, "TP-A")).to_be_disabled()
    service(page, "TP-A").evaluate("tile => tile.click()")  # a tap on the disabled tile does nothing
    expect(page.locator("#screen-ticket")).to_be_hidden()
    assert posts == []

    kiosk_server.start()
    expect(page.locator("#offline-banner")).to_be_hidden(timeout=RECONNECTED)
    expect(service(page, "TP-A")).to_be_enabled()
    service(page, "TP-A").click()
    expect(page.locator("#ticket-number")).to_have_text("1001")
    assert page.evaluate("window.sameDocument") is True  # recovered without a reload
    assert [t.display_number for t in kiosk_server.tickets()] == ["1001"]


UNCONFIRMED = unconfirmed_body()


@pytest.mark.browser
@pytest.mark.slow
def test_a_number_issued_whose_answer_was_lost_is_found_by_the_kiosk_asking_again_and_shown_once(
    page: Page, kiosk_server: KioskServer, printer: PrinterListener
):
    """The server issued the number but its answer said the database had not confirmed it (503
    storage_unconfirmed: the connection broke after COMMIT). The kiosk asks again by itself with the same
    Idempotency-Key, gets that number and shows it: the citizen is not sent away, and no second number is made.
    The lost answer is staged on the way back to the page: the request reaches the real server, which issues."""
    keys: list[str] = []

    def answer_lost(route: Route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        issued = route.fetch()  # the real server issues the number
        assert issued.status == 201
        route.fulfill(status=503, json=UNCONFIRMED)

    open_kiosk(page, kiosk_server)
    page.route("**/api/v1/tickets", answer_lost, times=1)
    agency(page, "Sở Tư pháp").click()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/tickets") and r.status == 200) as again:
        service(page, "TP-A").click()
    assert again.value.request.headers["idempotency-key"] == keys[0]  # the same tap, asked again
    assert again.value.json()["repeated"] is True
    expect(page.locator("#ticket-number")).to_have_text("1001")
    assert [t.display_number for t in kiosk_server.tickets()] == ["1001"]


@pytest.mark.browser
@pytest.mark.slow
def test_closed_and_capped_services_say_why_before_the_tap(page: Page, kiosk_server: KioskServer):
    for _ in range(2):  # CA-Y takes 2 numbers a day
        response = requests.post(
            f"{kiosk_server.url}/api/v1/tickets",
            json={"service": "CA-Y"},
            timeout=10,
            headers={"Authorization": "Bearer kiosk-token-1"},
        )
        assert response.status_code == 201, response.text
    open_kiosk(page, kiosk_server)
    agency(page, "Sở Tư pháp").click()
    expect(service(page, "TP-B")).to_be_disabled()
    expect(service(page, "TP-B")).to_contain_text("Ngoài giờ tiếp nhận")
    expect(service(page, "TP-B")).to_contain_text("Giờ tiếp nhận: 13:30–17:00 (Thứ 2 – Thứ 6)")
    expect(service(page, "TP-A")).to_be_enabled()
    page.locator("#services-back").click()
    agency(page, "Công an tỉnh").click()
    expect(service(page, "CA-Y")).to_be_disabled()
    expect(service(page, "CA-Y")).to_contain_text("Đã hết số thứ tự trong ngày")

    page.locator('[data-lang="en"]').click()
    expect(page.locator("#agency-title")).to_have_text("Provincial Police")
    expect(service(page, "CA-Y")).to_contain_text("All numbers for today have been issued")
    page.locator("#services-back").click()
    expect(agency(page, "Department of Justice")).to_be_visible()


@pytest.mark.browser
@pytest.mark.slow
def test_a_kiosk_for_one_agency_opens_on_its_services(page: Page, kiosk_server: KioskServer):
    db = kiosk_server.db()
    try:
        with db.read() as session:
            police = session.exec(select(Service).where(Service.code == "CA-X")).one().agency_id
        configure_kiosk(db, agency_ids=[police])
    finally:
        db.dispose()
    open_kiosk(page, kiosk_server)
    expect(page.locator("#screen-services")).to_be_visible()
    expect(page.locator("#agency-title")).to_have_text("Công an tỉnh")
    expect(page.locator("#services-back")).to_be_hidden()
    expect(page.locator("[data-service]")).to_have_count(2)
    service(page, "CA-X").click()
    expect(page.locator("#ticket-number")).to_have_text("A001")
    page.locator("#ticket-done").click()
    expect(page.locator("#screen-services")).to_be_visible()  # back to its start: the services


@pytest.mark.browser
@pytest.mark.slow
def test_paper_out_still_shows_the_number_and_says_where_to_go(
    page: Page, kiosk_server: KioskServer, printer: PrinterListener
):
    printer.paper = PAPER_OUT
    open_kiosk(page, kiosk_server)
    agency(page, "Sở Tư pháp").click()
    page.locator('[data-priority="elderly"]').click()
    service(page, "TP-A").click()
    expect(page.locator("#ticket-number")).to_have_text("1001")
    expect(page.locator("#ticket-priority")).to_have_text("Ưu tiên · Người cao tuổi")
    expect(page.locator("#ticket-print")).to_contain_text(PAPER_OUT_TEXT, timeout=SHOWN)
    page.locator("#ticket-done").click()
    expect(page.locator("#printer-banner")).to_have_text(PAPER_OUT_TEXT)  # the next citizen is warned too
    assert [t.priority for t in kiosk_server.tickets()] == ["elderly"]


@pytest.mark.browser
@pytest.mark.slow
def test_a_ticket_that_could_not_be_printed_stays_on_screen_until_done_is_touched(
    page: Page, kiosk_server: KioskServer, printer: PrinterListener
):
    db = kiosk_server.db()
    try:
        configure_kiosk(db, printer=printer.spec, return_seconds=3)
    finally:
        db.dispose()
    printer.paper = PAPER_OUT
    page.clock.install()  # the page's timers run when the test says so
    open_kiosk(page, kiosk_server)
    agency(page, "Sở Tư pháp").click()
    service(page, "TP-A").click()
    expect(page.locator("#ticket-number")).to_have_text("1001")
    expect(page.locator("#ticket-print")).to_contain_text(PAPER_OUT_TEXT, timeout=SHOWN)
    expect(page.locator("#ticket-countdown")).to_have_text("Màn hình này giữ nguyên cho đến khi quý vị chạm nút Xong.")
    page.clock.run_for(60_000)  # far past return_seconds (3 s) and the idle time
    expect(page.locator("#screen-ticket")).to_be_visible()
    expect(page.locator("#ticket-number")).to_have_text("1001")
    page.locator("#ticket-done").click()
    expect(page.locator("#screen-agencies")).to_be_visible()

    printer.paper = STATUS_OK  # a new roll: the next ticket prints, and goes back by itself as before
    agency(page, "Sở Tư pháp").click()
    service(page, "TP-A").click()
    expect(page.locator("#ticket-number")).to_have_text("1002")
    expect(page.locator("#ticket-print")).to_have_text("Mời quý vị nhận phiếu in.", timeout=SHOWN)
    expect(page.locator("#ticket-countdown")).to_contain_text("Tự động quay lại")
    page.clock.run_for(4_000)
    expect(page.locator("#screen-agencies")).to_be_visible()


@pytest.mark.browser
@pytest.mark.slow
def test_an_appointment_is_checked_in_by_its_code_then_the_kiosk_returns_to_the_start(
    page: Page, kiosk_server: KioskServer
):
    db = kiosk_server.db()
    try:
        configure_kiosk(db, return_seconds=3)
    finally:
        db.dispose()
    open_kiosk(page, kiosk_server)
    page.locator(".open-appointment").first.click()
    for key in "HEN123":
        page.locator(".key", has_text=re.compile(f"^{key}$")).click()
    expect(page.locator("#appointment-code")).to_have_value("HEN123")
    page.locator("#appointment-submit").click()
    expect(page.locator("#ticket-number")).to_have_text("A001")
    expect(page.locator("#ticket-service")).to_have_text("Xuất nhập cảnh")
    assert [t.channel for t in kiosk_server.tickets()] == ["appointment"]
    expect(page.locator("#screen-agencies")).to_be_visible(timeout=SHOWN)  # by itself, after 3 s
    expect(page.locator("#appointment-code")).to_have_value("")


def type_on_screen(page: Page, text: str) -> None:
    """Taps the kiosk's on-screen keyboard, letter by letter."""
    for letter in text:
        keys = page.locator("#search-keys .key")
        (keys.filter(has_text="Dấu cách") if letter == " " else keys.filter(has_text=re.compile(f"^{letter}$"))).click()


@pytest.mark.browser
@pytest.mark.slow
def test_a_procedure_is_found_by_its_name_typed_without_accents_and_gives_a_ticket(
    page: Page, kiosk_server: KioskServer, printer: PrinterListener
):
    open_kiosk(page, kiosk_server)
    page.locator("#open-search").click()
    expect(page.locator("#screen-search")).to_be_visible()
    type_on_screen(page, "ly lich tu phap")
    expect(page.locator("#search-text")).to_have_value("ly lich tu phap")
    results = page.locator("[data-result]")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Cấp phiếu lý lịch tư pháp")
    expect(results.first).to_contain_text("Sở Tư pháp")

    page.locator("#search-keys .key", has_text="Xóa hết").click()
    type_on_screen(page, "can")  # words are matched from their start: "Căn cước" and "Xuất nhập cảnh"
    expect(results).to_have_count(2)
    page.locator("#search-keys .key", has_text="Xóa hết").click()
    type_on_screen(page, "căn cư")  # with the Vietnamese letters, or without them: the same result
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Căn cước")
    for _ in range(6):
        page.locator("#search-keys .key", has_text="⌫").click()
    expect(page.locator("#search-text")).to_have_value("")
    type_on_screen(page, "can cu")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Căn cước")
    type_on_screen(page, "z")
    expect(results).to_have_count(0)
    expect(page.locator("#search-note")).to_have_text("Không tìm thấy thủ tục phù hợp.")

    page.locator("#search-keys .key", has_text="Xóa hết").click()
    type_on_screen(page, "chung")  # "Chứng thực" receives in the afternoon only: found, greyed out, with why
    expect(results).to_have_count(1)
    expect(results.first).to_be_disabled()
    expect(results.first).to_contain_text("Ngoài giờ tiếp nhận")
    page.locator("#search-keys .key", has_text="Xóa hết").click()
    type_on_screen(page, "phieu")  # one tap on the result gives the number
    results.first.click()
    expect(page.locator("#ticket-number")).to_have_text("1001")
    expect(page.locator("#ticket-service")).to_have_text("Cấp phiếu lý lịch tư pháp")
    assert [t.display_number for t in kiosk_server.tickets()] == ["1001"]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_large_targets_and_the_ticket_fit_portrait_and_landscape(
    browser, kiosk_server: KioskServer, width: int, height: int
):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = context.new_page()
    try:
        open_kiosk(page, kiosk_server)
        no_sideways_scroll = "document.documentElement.scrollWidth <= window.innerWidth"
        assert page.evaluate(no_sideways_scroll)
        tile = agency(page, "Sở Tư pháp")
        assert tile.bounding_box()["height"] >= 150  # an easy target for an unsteady finger
        assert font_px(page, "[data-agency] .tile-name") >= 30
        tile.click()
        service(page, "TP-A").click()
        expect(page.locator("#ticket-number")).to_have_text("1001")
        assert font_px(page, "#ticket-number") >= 200
        for selector in ("#ticket-number", "#ticket-qr", "#ticket-done"):
            box = page.locator(selector).bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= height, selector  # all on screen, no scrolling
        assert page.evaluate(no_sideways_scroll)
    finally:
        context.close()


def font_px(page: Page, selector: str) -> float:
    return page.locator(selector).first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")


# ------------------------------------------------------------------ the page's routes, in process


def test_the_kiosk_page_needs_a_kiosk_token(client, world):
    page = client.get(f"/kiosk/?token={world.kiosk_token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Mời chọn cơ quan cần giao dịch" in html and '<html lang="vi">' in html
    assert 'id="kiosk-config"' in html and "build/kiosk.js" in html
    assert page.headers["Cache-Control"] == "no-store"
    english = client.get(f"/kiosk/?token={world.kiosk_token}&lang=en").get_data(as_text=True)
    assert "Choose an agency" in english
    for token in ("", "nope", world.board_token):
        denied = client.get(f"/kiosk/?token={token}")
        assert denied.status_code == 403
        assert "Kiosk này chưa được đăng ký" in denied.get_data(as_text=True)


def test_the_qr_code_is_an_svg_of_the_tracking_address(client, luot):
    import io

    import qrcode
    import qrcode.image.svg

    response = client.get("/kiosk/qr/55JPK7DcyhEEQuZpGwl27Q.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    expected = qrcode.make(
        f"{luot.settings.base_url}/t/55JPK7DcyhEEQuZpGwl27Q",
        image_factory=qrcode.image.svg.SvgPathFillImage,
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    buffer = io.BytesIO()
    expected.save(buffer)
    assert response.data == buffer.getvalue()
    assert client.get("/kiosk/qr/bad%20token!.svg").status_code == 404


def used_messages() -> set[str]:
    """The msgids the templates (_("…"), t("…")) and kiosk.js (t("…"), the day names) use."""
    templates = "".join((ROOT / "kiosk/templates" / name).read_text() for name in ("kiosk.html", "kiosk_denied.html"))
    script = (ROOT / "kiosk/js/kiosk.js").read_text()
    found = set(re.findall(r"""(?:\b_|\bt)\(\s*(?:"([^"]+)"|'([^']+)')""", templates))
    found |= set(re.findall(r"""\bt\(\s*(?:"([^"]+)"|'([^']+)')""", script))
    days = re.search(r"const DAYS = \[([^\]]*)\]", script)
    assert days is not None
    return {a or b for a, b in found} | set(re.findall(r'"([^"]+)"', days.group(1)))


def test_every_kiosk_message_is_listed_and_translated_into_vietnamese():
    used = used_messages()
    assert used, "no messages found"
    assert used <= set(KIOSK_MESSAGES), sorted(used - set(KIOSK_MESSAGES))
    with (ROOT / "server/translations/vi-kiosk.po").open("rb") as handle:
        catalogue = {m.id: m.string for m in read_po(handle, locale="vi") if m.id}
    vocabulary = {p.label.en: p.label.vi for p in PRIORITY_CLASSES}  # labels the vocabulary owns in both languages
    assert set(catalogue) | set(vocabulary) == set(KIOSK_MESSAGES)
    for message, translation in {**catalogue, **vocabulary}.items():
        assert translation, message
        assert re.findall(r"\{\w+\}", message) == re.findall(r"\{\w+\}", translation), message


def test_the_page_carries_both_languages_for_the_toggle(client, world):
    html = client.get(f"/kiosk/?token={world.kiosk_token}").get_data(as_text=True)
    config: dict[str, Any] = __import__("json").loads(
        re.search(r'<script id="kiosk-config" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert config["messages"]["Choose an agency"] == {"vi": "Mời chọn cơ quan cần giao dịch", "en": "Choose an agency"}
    assert [p["code"] for p in config["priorities"]] == ["elderly", "disabled", "pregnant", "child", "merit"]
    assert config["token"] == world.kiosk_token and config["has_printer"] is False
