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
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from server.clock import local_midnight
from server.commands import cli
from server.domain import queueing
from server.domain.online import take_online_number
from server.maintenance import close_past_days_now, sweep_bookings_now
from server.models import Service, Site, TicketEvent
from server.stats.live import LIVE_FIELDS, expand
from server.stats.models import StatsDetail, StatsHourly
from server.stats.queries import Filters, history
from server.stats.rollup import rollup_day
from tests.integration.test_exports import QUERY, local
from tests.support.api import bearer, staff_token

WEDNESDAY, THURSDAY = date(2026, 11, 18), date(2026, 11, 19)
HEADING = "Hủy, không được phục vụ"


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


def cancelled_in_rollup(luot, day: date) -> tuple[int, int]:
    """(cancelled in stats_hourly, cancelled in stats_detail) of `day`."""
    with luot.db.read() as session:
        hourly = session.exec(select(func.sum(StatsHourly.cancelled)).where(StatsHourly.day == day)).one()
        detail = session.exec(select(func.sum(StatsDetail.cancelled)).where(StatsDetail.day == day)).one()
    return hourly or 0, detail or 0


def test_a_rollup_made_before_the_day_close_is_made_again_by_the_close(luot, world, wednesday):
    """H3 D3b: rolled up at 00:17, closed at 04:20, the roll-up kept 0 cancelled for good. A roll-up that did
    not close its day (made by an older version, or by a roll-up racing the close) is what the close corrects."""
    with luot.db.write() as session:  # the day as rolled up before anything closed it
        rollup_day(session, WEDNESDAY, world.site_id, local(23, 59))
    assert cancelled_in_rollup(luot, WEDNESDAY) == (0, 0)
    closed = close_past_days_now(luot)
    assert cancelled_in_rollup(luot, WEDNESDAY) == (2, 2)
    assert closed.site_days == {(WEDNESDAY, world.site_id)}
    with luot.db.read() as session:
        total = history(session, Filters(WEDNESDAY, WEDNESDAY, (world.site_id,)), luot.clock.now()).total_figures()
    assert (total["issued"], total["served"], total["cancelled"]) == (3, 1, 2)


def test_a_rollup_closes_its_day_first_so_the_order_does_not_matter(luot, world, wednesday, settings, monkeypatch):
    """`luot stats rollup` then `luot day-close` (the H3 repro): the roll-up counts the 2 cancellations itself."""
    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(settings.instance_path))
    runner = CliRunner()
    rolled = runner.invoke(cli, ["stats", "rollup", "--from", "2026-11-18", "--to", "2026-11-18", "--site", "HN"])
    assert rolled.exit_code == 0, rolled.output
    assert cancelled_in_rollup(luot, WEDNESDAY) == (2, 2)
    with luot.db.read() as session:
        events = session.exec(select(TicketEvent).where(TicketEvent.kind == "cancelled")).all()
    assert len(events) == 2 and all(e.at == local_midnight(THURSDAY) - timedelta(seconds=1) for e in events)
    closed = runner.invoke(cli, ["day-close"])
    assert "Cancelled 0 ticket(s) of past days." in closed.output  # nothing left to close: nothing to correct
    assert cancelled_in_rollup(luot, WEDNESDAY) == (2, 2)


def test_the_history_download_counts_what_nobody_had_closed_yet(client, luot, wednesday):
    """The page rolls up the missing Wednesday before answering: its roll-up closes the day first."""
    rows = list(csv.reader(io.StringIO(get(client, f"/dashboard/export.csv?{QUERY}").decode("utf-8-sig"))))
    assert rows[-1][rows[0].index(HEADING)] == "2"
