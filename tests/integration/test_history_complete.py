"""History figures are never silently incomplete: a download counts every finished day (from the event log
when it has no roll-up yet), and the page, which rolls up a bounded number of days per request, flags figures
that leave days out.

The H3 check: with more than 500 site-days missing, `roll_missing` rolled up nothing, `export()` dropped the
warning and the CSV's total read 6,155 arrivals of 7,255. Here the bound (ROLLUP_ON_REQUEST) is lowered to 0
or 1 on three days of site HN, each with its own arrivals:
  Monday 16/11     T1 TP-A issued 09:00, called 09:04 (wait 4), finished 09:10
  Tuesday 17/11    T2 TP-A issued 09:00, called 09:12 (wait 12), finished 09:20; T3 CA-X issued 09:30, never
                   called: cancelled by the day close
  Wednesday 18/11  T4 CA-X issued 09:00, called 09:30 (wait 30), finished 09:40
Read on Thursday 19/11 at 10:00.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date, datetime

import pytest
from sqlmodel import func, select

from dashboard import routes
from server.clock import LOCAL_TZ
from server.domain import queueing
from server.stats import exports
from server.stats.models import StatsRolledDay
from server.stats.queries import Filters, history
from server.stats.rollup import roll_missing
from tests.support.api import bearer, staff_token

MONDAY, WEDNESDAY = date(2026, 11, 16), date(2026, 11, 18)


def local(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.fixture
def three_days(luot, world, clock):
    run, c1, c3 = luot.run, world.counters["c1"], world.counters["c3"]
    clerk1, clerk3 = world.users["clerk1"], world.users["clerk3"]

    def serve(day: int, service: str, counter: int, clerk: int, called: int, finished: int) -> None:
        clock.set(local(day, 9, 0))
        run(queueing.issue_ticket, site_id=world.site_id, service_code=service)
        clock.set(local(day, 9, called))
        run(queueing.call_next, counter, clerk)
        clock.set(local(day, 9, finished))
        run(queueing.finish, counter, clerk)

    clock.set(local(16, 8, 0))
    run(queueing.open_counter, c1, clerk1)
    run(queueing.open_counter, c3, clerk3)
    serve(16, "TP-A", c1, clerk1, 4, 10)
    serve(17, "TP-A", c1, clerk1, 12, 20)
    clock.set(local(17, 9, 30))
    run(queueing.issue_ticket, site_id=world.site_id, service_code="CA-X")
    serve(18, "CA-X", c3, clerk3, 30, 40)
    clock.set(local(19, 10, 0))
    return world


def query(world, by: str = "day") -> str:
    return f"site={world.site_id}&from=2026-11-16&to=2026-11-18&by={by}"


def get(client, path: str) -> bytes:
    response = client.get(path, headers=bearer(staff_token(client, "manager")))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.data


def rolled_days(luot) -> int:
    with luot.db.read() as session:
        return session.exec(select(func.count()).select_from(StatsRolledDay)).one()


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("by", ["day", "agency", "service", "clerk", "priority"])
def test_a_download_counts_the_days_the_request_could_not_roll_up(client, luot, three_days, monkeypatch, by):
    monkeypatch.setattr(routes, "ROLLUP_ON_REQUEST", 0)  # the request rolls nothing up: 3 site-days left
    before = get(client, f"/dashboard/export.csv?{query(three_days, by)}")
    assert rolled_days(luot) == 0
    rows = csv_rows(before)
    cancelled = rows[0].index("Hủy, không được phục vụ")
    assert rows[-1][:4] == ["Tổng cộng", "4", "3", "15.3"]  # T1…T4; waits 4, 12 and 30 → 46/3
    assert rows[-1][cancelled] == "1"  # T3, closed before the log was read
    assert not any("Chưa đầy đủ" in cell for row in rows for cell in row)
    with luot.db.write() as session:  # now every day from its roll-up: the same file
        assert roll_missing(session, [three_days.site_id], MONDAY, WEDNESDAY, luot.clock.now()) == 3
    assert get(client, f"/dashboard/export.csv?{query(three_days, by)}") == before


def test_the_excel_and_pdf_downloads_count_every_day_too(client, luot, three_days, monkeypatch):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    monkeypatch.setattr(routes, "ROLLUP_ON_REQUEST", 1)  # Monday from its roll-up, Tuesday and Wednesday from the log
    book = load_workbook(io.BytesIO(get(client, f"/dashboard/export.xlsx?{query(three_days)}")))
    by_day = [[cell.value for cell in row][:3] for row in book.worksheets[1].iter_rows(min_row=2)]
    assert by_day == [["16/11/2026", 1, 1], ["17/11/2026", 2, 1], ["18/11/2026", 1, 1], ["Tổng cộng", 4, 3]]
    pdf = PdfReader(io.BytesIO(get(client, f"/dashboard/export.pdf?{query(three_days)}")))
    text = " ".join(" ".join(unicodedata.normalize("NFC", page.extract_text()).split()) for page in pdf.pages)
    assert "Tổng cộng 4 3" in text and "Chưa đầy đủ" not in text
    assert rolled_days(luot) == 2  # one per request: the downloads never wait for more


def page_figures(html: str) -> tuple[str, str, str]:
    """(the warning, the issued card, the table's total label) of the history page."""
    warning = re.search(r'<p class="warning" id="incomplete" role="alert">([^<]*)</p>', html)
    issued = re.search(r'data-figure="issued"><span class="label">[^<]*</span><span class="value">([^<]+)<', html)
    total = re.search(r"<tfoot><tr><th>([^<]*)</th>", html)
    assert issued is not None and total is not None
    return (warning[1] if warning else ""), issued[1], total[1]


def test_the_page_flags_figures_that_leave_days_out_until_they_are_rolled_up(client, three_days, monkeypatch):
    monkeypatch.setattr(routes, "ROLLUP_ON_REQUEST", 1)
    path = f"/dashboard/history?{query(three_days)}"
    html = get(client, path).decode()
    warning, issued, total = page_figures(html)
    assert warning.startswith("Chưa đầy đủ: 2 ngày-điểm từ 17/11/2026 đến 18/11/2026 chưa được tổng hợp")
    assert (issued, total) == ("1", "Tổng cộng (chưa đầy đủ)")  # Monday only, and it says so
    assert 'class="cards incomplete" id="totals" aria-describedby="incomplete"' in html
    warning, issued, total = page_figures(get(client, path).decode())  # each load rolls up one more
    assert warning.startswith("Chưa đầy đủ: 1 ngày-điểm từ 18/11/2026 đến 18/11/2026")
    assert (issued, total) == ("3", "Tổng cộng (chưa đầy đủ)")
    assert page_figures(get(client, path).decode()) == ("", "4", "Tổng cộng")


def test_every_file_says_so_when_it_is_built_from_figures_that_leave_days_out(luot, three_days):
    """The files flag an incomplete history themselves (the dashboard's downloads never build one: the child
    counts the missing days from the log)."""
    from openpyxl import load_workbook
    from pypdf import PdfReader

    with luot.db.read() as session:
        partial = history(session, Filters(MONDAY, WEDNESDAY, (three_days.site_id,), by="day"), luot.clock.now())
    assert partial.missing == [(MONDAY, three_days.site_id), (date(2026, 11, 17), three_days.site_id),
                               (WEDNESDAY, three_days.site_id)]  # fmt: skip
    report = exports.Report(partial, "Thống kê hàng đợi", [("Kỳ báo cáo", "16/11/2026 – 18/11/2026")])
    note = "Chưa đầy đủ: 3 ngày-điểm từ 16/11/2026 đến 18/11/2026 chưa được tổng hợp"
    rows = csv_rows(exports.to_csv(report))
    assert rows[-2][0] == "Tổng cộng (chưa đầy đủ)" and rows[-1][0].startswith(note)
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    assert str(book.worksheets[0]["A2"].value).startswith(note)
    assert [row[0].value for row in book.worksheets[1].iter_rows()][-1] == "Tổng cộng (chưa đầy đủ)"
    text = " ".join(
        " ".join(unicodedata.normalize("NFC", page.extract_text()).split())
        for page in PdfReader(io.BytesIO(exports.to_pdf(report))).pages
    )
    assert note in text and "Tổng cộng (chưa đầy đủ)" in text
    with luot.db.write() as session:
        roll_missing(session, [three_days.site_id], MONDAY, WEDNESDAY, luot.clock.now())
    with luot.db.read() as session:
        complete = exports.Report(history(session, partial.filters, luot.clock.now()), "Thống kê hàng đợi", [])
    assert complete.history.complete and complete.incomplete_note() == "" and complete.total_label() == "Tổng cộng"
    assert "Chưa đầy đủ" not in exports.to_csv(complete).decode("utf-8-sig")
