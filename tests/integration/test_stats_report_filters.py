"""History reports: the breakdowns by priority and channel speak the report's language, and "What citizens said"
follows every filter the figures follow.

Wednesday 18/11/2026 at site HN, exported on Thursday (Wednesday comes from its roll-up):
  09:00 T1 TP-A issued at the kiosk (ordinary); 09:05 counter 1 calls it, 09:10 finishes it;
        09:11 rated unsatisfied on the phone, reason "Chờ lâu", comment "Lâu quá"
  09:20 T2 TP-A issued by staff, priority elderly; 09:25 counter 1 calls it, 09:30 finishes it;
        09:31 rated very satisfied on the phone (no reason, no comment)
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from server.domain import queueing
from tests.integration.test_exports import QUERY, local
from tests.support.api import bearer, staff_token


@pytest.fixture
def played(luot, world, clock):
    run, c1, clerk1 = luot.run, world.counters["c1"], world.users["clerk1"]
    clock.set(local(9, 0))
    run(queueing.open_counter, c1, clerk1)
    t1 = run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    clock.set(local(9, 5))
    run(queueing.call_next, c1, clerk1)
    clock.set(local(9, 10))
    run(queueing.finish, c1, clerk1)
    clock.set(local(9, 11))
    run(queueing.rate, t1.id, "unsatisfied", source="phone", reasons=["Chờ lâu"], comment="Lâu quá")
    clock.set(local(9, 20))
    t2 = run(
        queueing.issue_ticket, site_id=world.site_id, service_code="TP-A", priority="elderly", channel="staff"
    ).ticket
    clock.set(local(9, 25))
    run(queueing.call_next, c1, clerk1)
    clock.set(local(9, 30))
    run(queueing.finish, c1, clerk1)
    clock.set(local(9, 31))
    run(queueing.rate, t2.id, "very_satisfied", source="phone")
    clock.set(local(10, 0, 19))
    return world


def csv_rows(client, extra: str) -> list[list[str]]:
    response = client.get(f"/dashboard/export.csv?{QUERY}{extra}", headers=bearer(staff_token(client, "manager")))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def page(client, extra: str) -> str:
    response = client.get(f"/dashboard/history?{QUERY}{extra}", headers=bearer(staff_token(client, "manager")))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def breakdown_labels(html: str) -> list[str]:
    body = html.split('id="breakdown"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[^>]*><th>([^<]*)</th>", body)


@pytest.mark.parametrize(
    ("by", "vietnamese", "english"),
    [
        ("priority", ["Thông thường", "Người cao tuổi"], ["Ordinary", "Elderly person"]),
        ("channel", ["Kiosk", "Cán bộ cấp số"], ["Kiosk", "Staff"]),
    ],
)
def test_priority_and_channel_rows_are_named_in_the_report_language(client, played, by, vietnamese, english):
    """Two rows of one arrival each: the order between them is by name, so the names are compared as sets."""
    assert sorted(r[0] for r in csv_rows(client, f"&by={by}")[1:3]) == sorted(vietnamese)
    assert sorted(r[0] for r in csv_rows(client, f"&by={by}&lang=en")[1:3]) == sorted(english)
    assert sorted(breakdown_labels(page(client, f"&by={by}"))) == sorted(vietnamese)
    assert sorted(breakdown_labels(page(client, f"&by={by}&lang=en"))) == sorted(english)


def test_the_excel_and_pdf_name_priority_rows_in_vietnamese(client, played):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    manager = staff_token(client, "manager")
    xlsx = client.get(f"/dashboard/export.xlsx?{QUERY}&by=priority", headers=bearer(manager)).data
    sheet = load_workbook(io.BytesIO(xlsx)).worksheets[1]
    assert sorted(row[0].value for row in sheet.iter_rows(min_row=2, max_row=3)) == ["Người cao tuổi", "Thông thường"]
    pdf = client.get(f"/dashboard/export.pdf?{QUERY}&by=priority", headers=bearer(manager)).data
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Người cao tuổi" in text and "Elderly person" not in text and "Ordinary" not in text


def said_rows(rows: list[list[str]]) -> list[list[str]]:
    """The comment rows after the figures of a history CSV (empty when nobody said anything)."""
    headings = [index for index, row in enumerate(rows) if row[:1] == ["Thời điểm"]]
    return rows[headings[0] + 1 :] if headings else []


@pytest.mark.parametrize("extra", ["&priority=elderly", "&channel=staff"])
def test_what_citizens_said_follows_the_priority_and_channel_filters(client, played, extra):
    """The elderly staff-issued T2 was rated without a word: the comment on the ordinary kiosk T1 is not its."""
    rows = csv_rows(client, extra)
    assert [row[1] for row in rows if row[:1] == ["Tổng cộng"]] == ["1"]  # one arrival: T2
    assert said_rows(rows) == [] and not any("Chờ lâu" in cell for row in rows for cell in row)
    html = page(client, extra)
    assert "Lâu quá" not in html and "Chờ lâu</td>" not in html
    assert "(1 lượt đánh giá của công dân)" in html


@pytest.mark.parametrize("extra", ["&priority=ordinary", "&channel=kiosk", ""])
def test_what_citizens_said_keeps_the_comments_the_filters_allow(client, played, extra):
    rows = csv_rows(client, extra)
    assert [row[-3:] for row in said_rows(rows)] == [["Không hài lòng", "Chờ lâu", "Lâu quá"]]
    assert "Lâu quá" in page(client, extra)
