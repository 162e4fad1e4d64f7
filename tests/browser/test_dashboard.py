"""The manager pages in real Chromium against a real server (eventlet): live updates, charts, downloads, admin."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import UTC, datetime

import pytest
import requests

from server.clock import local_date

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "secret-pass"


def sign_in(page, server, username: str, path: str = "/dashboard/") -> None:
    page.goto(f"{server.url}/dashboard/login?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}{path}*")


def token(server, username: str) -> dict[str, str]:
    reply = requests.post(
        f"{server.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10
    )
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def service_id(server, world, code: str) -> int:
    reply = requests.get(f"{server.url}/api/v1/services?site=HN", timeout=10).json()
    return next(s["id"] for a in reply["agencies"] for s in a["services"] if s["code"] == code)


def test_the_live_dashboard_updates_when_a_ticket_is_issued_called_and_served(page, live_world):
    from playwright.sync_api import expect

    server, world = live_world
    tp_a = service_id(server, world, "TP-A")
    sign_in(page, server, "manager")
    row = page.locator(f'#agencies tr.service[data-service="{tp_a}"]')
    expect(row.locator('[data-k="waiting"]')).to_have_text("0")
    expect(page.locator("#status")).to_have_attribute("data-online", "true")
    issued = requests.post(
        f"{server.url}/api/v1/tickets",
        json={"service": "TP-A"},
        headers={"Authorization": f"Bearer {world.kiosk_token}"},
        timeout=10,
    )
    assert issued.status_code == 201
    expect(row.locator('[data-k="waiting"]')).to_have_text("1")
    expect(page.locator('#agencies tr.agency[data-agency] [data-k="waiting"]').first).to_have_text("1")
    clerk = token(server, "clerk1")
    counter = world.counters["c1"]
    for action in ("open", "next"):
        reply = requests.post(f"{server.url}/api/v1/counters/{counter}/{action}", json={}, headers=clerk, timeout=10)
        assert reply.status_code == 200, reply.text
    expect(row.locator('[data-k="waiting"]')).to_have_text("0")
    expect(row.locator('[data-k="avg"]')).to_have_text("0.0")  # called within the minute it was issued
    expect(row.locator('[data-k="within"]')).to_have_text("100.0 %")
    expect(row.locator('[data-k="p90"]')).to_have_text("0.0")  # the server's figure: one wait, p90 = mean
    expect(row.locator('[data-k="open"]')).to_have_text("1")
    requests.post(f"{server.url}/api/v1/counters/{counter}/finish", json={}, headers=clerk, timeout=10)
    expect(row.locator('[data-k="served"]')).to_have_text("1")
    expect(page.locator('#agencies tfoot [data-k="served"]')).to_have_text("1")
    rated = requests.post(
        f"{server.url}/api/v1/tickets/{issued.json()['id']}/rating",
        json={"score": "very_satisfied"},
        headers={"Authorization": f"Bearer {world.rating_token}"},
        timeout=10,
    )
    assert rated.status_code == 201
    expect(row.locator('[data-k="satisfaction"]')).to_have_text("100.0 % (1/1)")  # with its base: ratings/served


def serve_one(server, world) -> None:
    issued = requests.post(
        f"{server.url}/api/v1/tickets",
        json={"service": "TP-A"},
        headers={"Authorization": f"Bearer {world.kiosk_token}"},
        timeout=10,
    )
    assert issued.status_code == 201
    requests.post(
        f"{server.url}/api/v1/tickets",
        json={"service": "CA-X"},
        headers={"Authorization": f"Bearer {world.kiosk_token}"},
        timeout=10,
    )
    clerk = token(server, "clerk1")
    for action in ("open", "next", "start", "finish"):
        reply = requests.post(
            f"{server.url}/api/v1/counters/{world.counters['c1']}/{action}", json={}, headers=clerk, timeout=10
        )
        assert reply.status_code == 200, reply.text


def test_the_history_page_draws_its_charts_and_its_downloads_open(page, live_world):
    from openpyxl import load_workbook
    from playwright.sync_api import expect
    from pypdf import PdfReader

    server, world = live_world
    serve_one(server, world)  # today: 2 arrivals (TP-A, CA-X), 1 served
    sign_in(page, server, "manager", "/dashboard/history")
    today = local_date(datetime.now(UTC)).isoformat()  # by default history ends yesterday: ask for today
    page.goto(f"{server.url}/dashboard/history?from={today}&to={today}")
    for chart in ("hourly", "waits", "trend", "heatmap"):
        svg = page.locator(f'svg.chart[data-chart="{chart}"]')
        expect(svg).to_be_visible()
        assert svg.bounding_box()["height"] > 100
    expect(page.locator('#totals [data-figure="issued"] .value')).to_have_text("2")
    assert page.locator('svg[data-chart="hourly"] rect.bar').count() >= 22

    def download(selector: str) -> bytes:
        with page.expect_download() as info:
            page.click(selector)
        with open(info.value.path(), "rb") as handle:
            return handle.read()

    rows = list(csv.reader(io.StringIO(download("#export-csv").decode("utf-8-sig"))))
    assert rows[-1][:3] == ["Tổng cộng", "2", "1"]
    assert [r[0] for r in rows[1:-1]] == ["Sở Tư pháp", "Công an tỉnh"]
    book = load_workbook(io.BytesIO(download("#export-xlsx")))
    sheet = book[book.sheetnames[1]]
    assert [c.value for c in sheet[4]][:3] == ["Tổng cộng", 2, 1]
    text = " ".join(
        unicodedata.normalize("NFC", p.extract_text()) for p in PdfReader(io.BytesIO(download("#export-pdf"))).pages
    )
    assert "Thống kê hàng đợi" in text and "Tổng cộng 2 1" in " ".join(text.split())


def test_admin_creates_a_service_and_kiosks_offer_it_at_once(page, live_world):
    from playwright.sync_api import expect

    server, world = live_world
    sign_in(page, server, "admin", "/admin/services/")
    page.click("#new-item")
    page.select_option("select[name=agency_id]", label="HN · TP · Sở Tư pháp")
    page.fill("input[name=code]", "TP-C")
    page.fill("input[name=name]", "Cấp bản sao trích lục hộ tịch")
    page.fill("input[name=prefix]", "C")
    page.fill("input[name=first_number]", "1")
    page.fill("input[name=last_number]", "500")
    page.click("#save")
    expect(page.locator("#items")).to_contain_text("Cấp bản sao trích lục hộ tịch")
    offered = requests.get(
        f"{server.url}/api/v1/services", headers={"Authorization": f"Bearer {world.kiosk_token}"}, timeout=10
    ).json()
    service = next(s for a in offered["agencies"] if a["code"] == "TP" for s in a["services"] if s["code"] == "TP-C")
    assert service["available"] is True and service["name"] == "Cấp bản sao trích lục hộ tịch"
    ticket = requests.post(
        f"{server.url}/api/v1/tickets",
        json={"service": "TP-C"},
        headers={"Authorization": f"Bearer {world.kiosk_token}"},
        timeout=10,
    )
    assert ticket.status_code == 201 and ticket.json()["display_number"] == "C001"
    page.goto(f"{server.url}/admin/audit?entity=services")
    expect(page.locator("#audit")).to_contain_text("services TP-C")
