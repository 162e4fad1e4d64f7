"""Issue 12's example through a real server: at Sở Tư pháp counters 1–3 serve all four services of the agency.
Three "Lý lịch tư pháp" tickets, one "Chứng thực", one "Quốc tịch", one more "Lý lịch tư pháp", then an elderly
citizen: the issue answers, the public status, the phone page (real Chromium) and the console's list all give the
order Call next then takes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from server.db import Database
from server.process import ServerProcess
from server.provisioning import (
    create_agency,
    create_counter,
    create_device,
    create_sequence,
    create_service,
    create_site,
    create_user,
)
from tests.support.world import PASSWORD, password_hash

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOWN = 30_000  # ms
KIOSK = "kiosk-tp"
SERVICES = ("LLTP", "CT", "QT", "HT")


def _hall(db: Database) -> dict[int, int]:
    """Sở Tư pháp with four services, each numbered on its own, and counters 1–3 serving all of them."""
    with db.write() as s:
        site = create_site(s, "TT", "Trung tâm Phục vụ hành chính công")
        agency = create_agency(s, site, "STP", "Sở Tư pháp", "Department of Justice")
        names = ("Cấp phiếu lý lịch tư pháp", "Chứng thực bản sao, chữ ký", "Quốc tịch", "Hộ tịch")
        services = []
        for index, (code, name) in enumerate(zip(SERVICES, names, strict=True)):
            sequence = create_sequence(s, site, code, "", (index + 1) * 1000 + 1, (index + 1) * 1000 + 999)
            services.append(create_service(s, agency, code, name, sequence=sequence))
        counters = {}
        for number in (1, 2, 3):
            counter = create_counter(s, site, number, services)
            create_user(s, f"clerk{number}", PASSWORD, site=site, password_hash=password_hash())
            counters[number] = counter.id
        create_device(s, site, "kiosk", "Kiosk", KIOSK)
    return counters


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[int, int]]]:
    server = ServerProcess(tmp_path / "instance")
    counters = server.prepare(_hall)
    server.start()
    yield server, counters  # type: ignore[misc]
    server.stop()


class Desk:
    """A clerk at a counter, through the REST API."""

    def __init__(self, url: str, number: int, counter_id: int) -> None:
        self.url, self.counter_id, self.http = url, counter_id, requests.Session()
        token = self.http.post(
            f"{url}/api/v1/auth/token", json={"username": f"clerk{number}", "password": PASSWORD}, timeout=10
        ).json()["token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def do(self, action: str) -> dict:
        response = self.http.post(f"{self.url}/api/v1/counters/{self.counter_id}/{action}", json={}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def line(self) -> list[str]:
        state = self.http.get(f"{self.url}/api/v1/counters/{self.counter_id}", timeout=10).json()["counter"]
        return [ticket["display_number"] for ticket in state["waiting"]]


def test_every_surface_tells_the_order_call_next_takes(page: Page, hall):
    server, counters = hall
    desks = {number: Desk(server.url, number, counter_id) for number, counter_id in counters.items()}
    for desk in desks.values():
        desk.do("open")
    kiosk = requests.Session()
    kiosk.headers["Authorization"] = f"Bearer {KIOSK}"

    def issue(service: str, priority: str = "") -> dict:
        response = kiosk.post(
            f"{server.url}/api/v1/tickets", json={"service": service, "priority": priority or None}, timeout=10
        )
        assert response.status_code == 201, response.text
        return response.json()

    tickets = [issue(code) for code in ("LLTP", "LLTP", "LLTP", "CT", "QT", "LLTP")]
    # three counters take the first three at once; everyone else waits for them, whatever their service
    assert [t["waiting_ahead"] for t in tickets] == [0, 1, 2, 3, 4, 5]
    assert [t["estimated_wait_minutes"] for t in tickets] == [0, 1, 1, 6, 6, 6]

    def status(ticket: dict) -> dict:
        return requests.get(f"{server.url}/api/v1/tickets/{ticket['tracking_token']}", timeout=10).json()

    assert [status(t)["waiting_ahead"] for t in tickets] == [0, 1, 2, 3, 4, 5]
    assert desks[1].line() == [t["display_number"] for t in tickets]

    elderly = issue("HT", "elderly")  # an elderly citizen arrives last and is called first
    assert elderly["waiting_ahead"] == 0
    assert [status(t)["waiting_ahead"] for t in tickets] == [1, 2, 3, 4, 5, 6]  # everyone else moves back
    expected = [elderly["display_number"], *(t["display_number"] for t in tickets)]
    assert desks[1].line() == expected

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server.url}/t/{tickets[3]['tracking_token']}")  # the "Chứng thực" citizen
    expect(page.locator("#ahead")).to_have_text("4", timeout=SHOWN)

    called = [desks[number].do("next")["ticket"]["display_number"] for number in (1, 2, 3)]
    assert called == expected[:3]
    expect(page.locator("#ahead")).to_have_text("1", timeout=SHOWN)  # the phone follows, pushed by the server
    assert status(tickets[3])["waiting_ahead"] == 1
    assert desks[1].line() == expected[3:]
    for desk in desks.values():
        desk.do("start")
    called += [desks[number].do("next")["ticket"]["display_number"] for number in (1, 2, 3)]
    assert called == expected[:6]
    expect(page.locator("body")).to_have_attribute("data-status", "called", timeout=SHOWN)  # it was my turn
