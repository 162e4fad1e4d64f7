"""Tickets never served are counted where arrivals, served and no-shows are: the history page, the CSV, Excel
and PDF downloads, and today's live figures.

Wednesday 18/11/2026 at site HN:
  09:00 T1 TP-A issued; 09:05 counter 1 calls it; 09:10 finished
  09:10 T2 TP-A issued, never called (still waiting when the day ends)
  09:20 T3 CA-X issued; 09:25 counter 3 calls it and holds it (still held when the day ends)
On Thursday the day close cancels T2 and T3 on Wednesday (23:59:59): 2 cancelled of 3 arrivals.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import datetime

import pytest
from sqlmodel import select

from server.clock import LOCAL_TZ
from server.domain import queueing
from server.domain.online import take_online_number
from server.maintenance import close_past_days_now, sweep_bookings_now
from server.models import Service, Site
from server.stats.live import LIVE_FIELDS, expand
from tests.support.api import bearer, staff_token

QUERY = "from=2026-11-18&to=2026-11-18"
HEADING = "Hủy, không được phục vụ"


def local(hour: int, minute: int, day: int = 18) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.fixture
def wednesday(luot, world, clock):
    """The day above, then Thursday 10:00: returns the ids of T1, T2 and T3."""
    run, c1, c3 = luot.run, world.counters["c1"], world.counters["c3"]
    clerk1, clerk3 = world.users["clerk1"], world.users["clerk3"]
    clock.set(local(9, 0))
    run(queueing.open_counter, c1, clerk1)
    run(queueing.open_counter, c3, clerk3)
    t1 = run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    clock.set(local(9, 5))
    run(queueing.call_next, c1, clerk1)
    clock.set(local(9, 10))
    run(queueing.finish, c1, clerk1)
    t2 = run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    clock.set(local(9, 20))
    t3 = run(queueing.issue_ticket, site_id=world.site_id, service_code="CA-X").ticket
    clock.set(local(9, 25))
    run(queueing.call_next, c3, clerk3)
    run(queueing.hold, c3, clerk3, "đi photo giấy tờ")
    clock.set(local(10, 0, 19))
    return t1.id, t2.id, t3.id


def get(client, path: str) -> bytes:
    response = client.get(path, headers=bearer(staff_token(client, "manager")))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.data


def test_the_history_and_every_download_count_the_tickets_the_day_close_cancelled(client, luot, wednesday):
    assert close_past_days_now(luot).total == 2
    rows = list(csv.reader(io.StringIO(get(client, f"/dashboard/export.csv?{QUERY}").decode("utf-8-sig"))))
    column = rows[0].index(HEADING)
    assert rows[0][column - 1] == "Vắng mặt"  # beside the no-shows
    assert {row[0]: row[column] for row in rows[1:]} == {"Sở Tư pháp": "1", "Công an tỉnh": "1", "Tổng cộng": "2"}
    assert rows[-1][1:3] == ["3", "1"]  # 3 arrivals, 1 served: 2 cancelled, none left unexplained

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(get(client, f"/dashboard/export.xlsx?{QUERY}")))
    summary = {row[0].value: row[1].value for row in book.worksheets[0].iter_rows() if len(row) > 1}
    assert summary[HEADING] == 2
    sheet = [[cell.value for cell in row] for row in book.worksheets[1].iter_rows()]
    assert sheet[-1][sheet[0].index(HEADING)] == 2

    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(get(client, f"/dashboard/export.pdf?{QUERY}")))
    text = " ".join(" ".join(unicodedata.normalize("NFC", page.extract_text()).split()) for page in pdf.pages)
    assert HEADING in text and "hủy = số không được phục vụ" in text

    html = get(client, f"/dashboard/history?{QUERY}").decode()
    card = re.search(r'data-figure="cancelled"><span class="label">([^<]*)</span><span class="value">([^<]*)<', html)
    assert card is not None and card.groups() == (HEADING, "2")


def test_todays_live_figures_count_a_lapsed_online_number(client, luot, world, clock):
    with luot.db.write() as session:
        service = session.exec(select(Service).where(Service.site_id == world.site_id, Service.code == "TP-A")).one()
        service.online_numbers = True
        site = session.get(Site, world.site_id)
        assert site is not None
        site.settings = {**site.settings, "online_lapse_time": "16:30"}
        session.add_all([service, site])
    clock.set(local(9, 0))
    luot.run(take_online_number, site_id=world.site_id, service_code="TP-A", person_key="a" * 64)
    clock.set(local(16, 30))
    assert sweep_bookings_now(luot) == (0, {world.site_id})
    assert "cancelled" in LIVE_FIELDS
    answer = client.get(
        f"/dashboard/api/live?site={world.site_id}", headers=bearer(staff_token(client, "manager"))
    ).get_json()
    total = expand(answer)["total"]
    assert (total["issued"], total["served"], total["cancelled"]) == (1, 0, 1)
