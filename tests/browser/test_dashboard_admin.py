"""The managers' live page and the administration in real Chromium against a real server (eventlet) holding the
demo (20 agencies, 30 days of history) and a busy line: the leader's totals, device health with the printer
alert, Vietnamese numbers, the 1440×900 screenshot (kept in test-artifacts/, no text outside its box), the
service ticks grouped by agency, the device form's reasons and the unlock of a locked account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import Session, select

from server.clock import SystemClock
from server.demo_data import DEMO_PASSWORDS, seed_demo
from server.demo_history import fill_history
from server.models import CounterService, Device
from server.process import ServerProcess
from tests.integration.test_print_jobs import PAPER_OUT, STATUS_OK, PrinterListener
from tests.support.ordered_client import OrderedClient
from tests.support.page_fit import overflowing_text, sideways_scroll

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SHOWN = 20_000  # ms: an upper bound for a loaded machine; expect() returns as soon as the page matches
PAPER_OUT_KIOSK = "Kiosk sảnh chính"


@pytest.fixture(scope="module")
def printer() -> Iterator[PrinterListener]:
    with PrinterListener(paper=PAPER_OUT) as listener:
        yield listener


@pytest.fixture(scope="module")
def demo(tmp_path_factory, printer) -> Iterator[ServerProcess]:
    """The demo with its history; the main kiosk prints to a printer out of paper; a busy line."""

    def populate(db) -> None:
        with Session(db.engine) as session:
            seed_demo(session)
            kiosk = session.exec(select(Device).where(Device.name == PAPER_OUT_KIOSK)).one()
            kiosk.settings = {**kiosk.settings, "printer": printer.spec}
            session.add(kiosk)
            session.commit()
            fill_history(session, SystemClock().now(), 30)

    allowance = {"LUOT_PRINTER_PORTS": f"9100,{printer.port}", "LUOT_PRINTER_NETWORKS": "127.0.0.0/8,10.0.0.0/8"}
    server = ServerProcess(tmp_path_factory.mktemp("demo") / "instance", env=allowance)
    server.prepare(populate)
    server.start()
    busy_line(server)
    yield server
    server.stop()


def demo_token(server: ServerProcess, username: str) -> dict[str, str]:
    reply = requests.post(
        f"{server.url}/api/v1/auth/token",
        json={"username": username, "password": DEMO_PASSWORDS.get(username, DEMO_PASSWORDS["clerk"])},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def busy_line(server: ServerProcess) -> None:
    """90 citizens over every service (the side kiosk, no printer); 14 counters open and calling, 3 paused."""
    kiosk = {"Authorization": "Bearer demo-kiosk-2"}
    offered = requests.get(f"{server.url}/api/v1/services", headers=kiosk, timeout=10).json()
    codes = [s["code"] for a in offered["agencies"] for s in a["services"]]
    for i in range(90):
        reply = requests.post(f"{server.url}/api/v1/tickets", json={"service": codes[i % len(codes)]}, headers=kiosk)
        assert reply.status_code == 201, reply.text
    for number in range(1, 15):
        clerk = demo_token(server, f"clerk{number:02d}")
        for action in ("open", "next"):
            reply = requests.post(f"{server.url}/api/v1/counters/{number}/{action}", json={}, headers=clerk)
            assert reply.status_code == 200, reply.text
        if number % 4 == 0:
            requests.post(f"{server.url}/api/v1/counters/{number}/pause", json={"reason": "break"}, headers=clerk)


def sign_in(page, server: ServerProcess, username: str, path: str) -> None:
    page.goto(f"{server.url}/dashboard/login?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORDS[username])
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}{path}*")


def test_the_dashboard_fits_1440x900_with_the_leaders_totals_and_no_text_outside_its_box(browser, demo):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    page = context.new_page()
    try:
        sign_in(page, demo, "manager", "/dashboard/")
        expect(page.locator("#status")).to_have_text("Đã kết nối", timeout=SHOWN)
        expect(page.locator('#leader [data-k="waiting"] .value')).to_have_text(re.compile(r"^\d+$"), timeout=SHOWN)
        waiting = int(page.locator('#leader [data-k="waiting"] .value').inner_text())
        assert waiting >= 70  # 90 issued, 14 called
        expect(page.locator('#leader [data-k="open"] .value')).to_have_text("11")
        expect(page.locator('#leader [data-k="paused"] .value')).to_have_text("3")
        expect(page.locator('#leader [data-k="unattended"]')).to_have_class(re.compile("breach"))
        within = page.locator('#agencies tfoot [data-k="within"]').inner_text()
        assert re.fullmatch(r"\d{1,3},\d%", within), within  # Vietnamese: 100,0%
        assert page.locator("#agencies tbody tr.agency").count() == 20
        assert page.locator("#agencies tbody tr.service").first.is_hidden()  # one screen: agencies only
        bottom = page.evaluate("document.querySelector('#agencies').getBoundingClientRect().bottom")
        assert bottom <= 900, f"the agency table ends at {bottom}px, below the 900 px screen"
        expect(page.locator("#device-list li")).to_have_count(6, timeout=SHOWN)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-1440x900.png"))
        assert overflowing_text(page) == []
        assert not sideways_scroll(page)
        page.check("#show-services")
        assert page.locator("#agencies tbody tr.service").first.is_visible()
        assert overflowing_text(page) == []
    finally:
        context.close()


def test_a_printer_out_of_paper_and_a_board_that_drops_raise_alerts_on_the_live_page(page, demo, printer):
    sign_in(page, demo, "manager", "/dashboard/")
    kiosk = page.locator("#device-list li", has_text=PAPER_OUT_KIOSK)
    expect(kiosk).to_have_attribute("data-state", "unseen", timeout=SHOWN)
    expect(page.locator("#alerts")).to_be_hidden()
    board = OrderedClient(reconnection=False)
    board.connect(demo.url, auth={"token": "demo-board-hall"}, transports=["websocket"], wait_timeout=10)
    hall = page.locator("#device-list li", has_text="Màn hình tổng sảnh")
    expect(hall).to_have_attribute("data-state", "connected", timeout=SHOWN)
    expect(hall.locator(".state")).to_have_text("Đã kết nối")
    issued = requests.post(
        f"{demo.url}/api/v1/tickets", json={"service": "STP-LLTP"}, headers={"Authorization": "Bearer demo-kiosk-1"}
    )
    assert issued.status_code == 201
    alert = page.locator("#alerts p", has_text=PAPER_OUT_KIOSK)
    expect(alert).to_contain_text("Máy in hết giấy", timeout=SHOWN)
    expect(kiosk.locator(".printer")).to_have_attribute("data-status", "paper_out")
    expect(page.locator('#leader [data-k="devices"]')).to_have_class(re.compile("breach"))
    board.disconnect()
    expect(page.locator("#alerts p", has_text="Màn hình tổng sảnh")).to_contain_text("Mất kết nối", timeout=SHOWN)
    expect(hall).to_have_attribute("data-state", "dropped")
    printer.paper = STATUS_OK  # paper loaded again
    requests.post(
        f"{demo.url}/api/v1/tickets", json={"service": "STP-LLTP"}, headers={"Authorization": "Bearer demo-kiosk-1"}
    )
    expect(kiosk.locator(".printer")).to_have_attribute("data-status", "online", timeout=SHOWN)
    expect(page.locator("#alerts p", has_text=PAPER_OUT_KIOSK)).to_have_count(0)


def test_ticking_a_service_keeps_the_counters_other_services(page, demo):
    sign_in(page, demo, "admin", "/admin/counters/")
    page.goto(f"{demo.url}/admin/counters/1")
    group = page.locator("#group-service_ids .group", has_text="Sở Tư pháp")
    expect(group.locator("input:checked")).to_have_count(4)
    other = page.locator("#group-service_ids .group", has_text="Bưu điện tỉnh")
    other.get_by_label("BD-TKQ · Trả kết quả, chuyển phát").check()  # one plain click
    page.click("#save")
    expect(page.locator("#saved")).to_contain_text("Đã lưu")
    db = demo_db(demo)
    try:
        with db.read() as session:
            served = session.exec(select(CounterService.service_id).where(CounterService.counter_id == 1)).all()
        assert len(served) == 5
    finally:
        db.dispose()


def demo_db(server: ServerProcess):
    from server.db import Database

    return Database(server.settings())


def test_the_device_form_shows_its_kinds_settings_and_says_why_a_printer_is_refused(page, demo):
    sign_in(page, demo, "admin", "/admin/devices/")
    page.goto(f"{demo.url}/admin/devices/new")
    page.select_option("select[name=kind]", "board")
    expect(page.locator("#settings-board")).to_be_visible()
    expect(page.locator("#settings-kiosk")).to_be_hidden()
    expect(page.locator("#group-agency_ids")).to_be_visible()
    page.select_option("select[name=kind]", "kiosk")
    page.fill("input[name=name]", "Kiosk tầng 2")
    page.fill('input[name="dev-kiosk-printer"]', "tcp://10.0.0.21:9100")
    page.click("#save")
    reason = page.locator('.field-error[data-field="printer"]')
    expect(reason).to_contain_text("network:10.0.0.21:9100")
    expect(page.locator('input[name="dev-kiosk-printer"]')).to_have_value("tcp://10.0.0.21:9100")
    page.fill('input[name="dev-kiosk-printer"]', "network:10.0.0.21:9100")
    page.click("#save")
    expect(page.locator("#saved")).to_contain_text("Đã lưu: Kiosk tầng 2")
    expect(page.locator("#device-url")).to_contain_text("/kiosk/?token=")
    expect(page.locator("#device-qr svg")).to_be_visible()
    assert re.search(r"/admin/devices/\d+$", page.url)


def test_a_locked_account_is_unlocked_from_the_user_list(page, demo):
    for _ in range(5):
        requests.post(f"{demo.url}/api/v1/auth/token", json={"username": "clerk20", "password": "wrong-pass"})
    sign_in(page, demo, "admin", "/admin/users/")
    row = page.locator("#items tr", has_text="clerk20")
    expect(row.locator(".locked")).to_contain_text("Bị khóa sau 5 lần đăng nhập sai")
    row.locator("button.unlock").click()
    expect(page.locator("#saved")).to_contain_text("Đã mở khóa: clerk20")
    expect(page.locator("#items tr", has_text="clerk20").locator(".locked")).to_have_count(0)
    assert demo_token(demo, "clerk20")
