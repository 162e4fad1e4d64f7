"""CSV, Excel and PDF downloads carry the history's figures (checked by hand), readable back by their tools.

Wednesday 18/11/2026 at site HN: T1 TP-A issued 09:00, called 09:10 (wait 10), served until 09:16 (6 min),
rated very satisfied; T2 CA-X issued 09:05, called 09:25 (wait 20), served until 09:33 (8 min); T3 TP-A
issued 09:20, never called. Exported on Thursday, so Wednesday comes from its roll-up, which first closes the
day: T3 is cancelled.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime

import pytest

from server.clock import LOCAL_TZ
from server.domain import queueing
from tests.support.api import bearer, staff_token

QUERY = "from=2026-11-18&to=2026-11-18"


def local(hour: int, minute: int, day: int = 18) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.fixture
def played(luot, world, clock):
    run, c1, c3 = luot.run, world.counters["c1"], world.counters["c3"]
    clerk1, clerk3 = world.users["clerk1"], world.users["clerk3"]
    clock.set(local(9, 0))
    run(queueing.open_counter, c1, clerk1)
    run(queueing.open_counter, c3, clerk3)
    t1 = run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    clock.set(local(9, 5))
    run(queueing.issue_ticket, site_id=world.site_id, service_code="CA-X")
    clock.set(local(9, 10))
    run(queueing.call_next, c1, clerk1)
    run(queueing.start, c1, clerk1)
    clock.set(local(9, 16))
    run(queueing.finish, c1, clerk1)
    run(queueing.rate, t1.id, "very_satisfied", source="phone")
    clock.set(local(9, 20))
    run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A")
    clock.set(local(9, 25))
    run(queueing.call_next, c3, clerk3)
    run(queueing.start, c3, clerk3)
    clock.set(local(9, 33))
    run(queueing.finish, c3, clerk3)
    clock.set(local(10, 0, 19))
    return world


def download(client, token: str, kind: str, extra: str = "") -> bytes:
    response = client.get(f"/dashboard/export.{kind}?{QUERY}{extra}", headers=bearer(token))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert "attachment" in response.headers["Content-Disposition"]
    return response.data


# (label, arrivals, served, avg wait to first call, p90 wait to first call, avg wait to last call, within target %,
#  avg service, no-shows, cancelled, transfers, ratings, sat. %, served and rated % (ratings ÷ served))
TP = ["Sở Tư pháp", "2", "1", "10.0", "10.0", "10.0", "100.0", "6.0", "0", "1", "0", "1", "100.0", "100.0"]
CA = ["Công an tỉnh", "1", "1", "20.0", "20.0", "20.0", "0.0", "8.0", "0", "0", "0", "0", "", "0.0"]
TOTAL = ["Tổng cộng", "3", "2", "15.0", "20.0", "15.0", "50.0", "7.0", "0", "1", "0", "1", "100.0", "50.0"]


def test_the_csv_download_has_the_hand_computed_figures(client, played):
    manager = staff_token(client, "manager")
    data = download(client, manager, "csv")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Cơ quan", "Lượt đến", "Đã phục vụ"]
    # the header says which wait: to the first call (ours) and to the last call (what Qmatic reports)
    assert rows[0][3:6] == [
        "Chờ TB đến lần gọi đầu (phút)",
        "Chờ p90 đến lần gọi đầu (phút)",
        "Chờ TB đến lần gọi cuối (phút)",
    ]
    # p90: nearest rank over the exact waits: TP one wait of 10 → 10, CA 20 → 20, both (10, 20) → the 2nd, 20
    assert rows[1:] == [TP, CA, TOTAL]


def test_the_excel_download_reads_back_with_openpyxl(client, played):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(download(client, staff_token(client, "manager"), "xlsx")))
    assert book.sheetnames[0] == "Tổng hợp"
    sheet = book[book.sheetnames[1]]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][3] == "Chờ TB đến lần gọi đầu (phút)" and values[0][5] == "Chờ TB đến lần gọi cuối (phút)"
    assert values[1][:8] == ["Sở Tư pháp", 2, 1, 10.0, 10.0, 10.0, 1.0, 6.0]
    assert values[2][:8] == ["Công an tỉnh", 1, 1, 20.0, 20.0, 20.0, 0.0, 8.0]
    assert values[3][:8] == ["Tổng cộng", 3, 2, 15.0, 20.0, 15.0, 0.5, 7.0]
    assert sheet.cell(row=4, column=7).number_format == "0.0%"
    summary = [c.value for row in book[book.sheetnames[0]].iter_rows() for c in row if c.value]
    assert any(str(v).startswith("Cách tính: thời gian chờ = lần gọi đầu") for v in summary)
    by_hour = book[book.sheetnames[-1]]
    # 23:00: T3's cancellation, dated 23:59:59 by the close (no arrival, none served)
    assert [[c.value for c in row][:3] for row in by_hour.iter_rows(min_row=2)] == [["09:00", 3, 2], ["23:00", 0, 0]]


def test_the_pdf_report_is_vietnamese_and_has_the_figures(client, played):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(download(client, staff_token(client, "manager"), "pdf")))
    text = " ".join(unicodedata.normalize("NFC", page.extract_text()) for page in reader.pages)
    text = " ".join(text.split())  # table cells come out one per line
    assert "Thống kê hàng đợi" in text and "Trung tâm Phục vụ hành chính công thử nghiệm" in text
    assert "Từ ngày 18/11/2026 đến ngày 18/11/2026" in text
    assert "Mức độ hài lòng" in text and "Chờ TB đến lần gọi đầu (phút)" in text
    assert "Chờ TB đến lần gọi cuối (phút)" in text and "chờ đến lần gọi cuối = lần gọi hoặc gọi lại cuối cùng" in text
    for row in (TP, CA, TOTAL):  # label, then the figures in column order, written the Vietnamese way
        assert " ".join(vietnamese(row)) in text, row


def vietnamese(row: list[str]) -> list[str]:
    """A CSV row as the PDF writes it: decimal commas, shares with %, a dash for no figure."""
    shares = (6, 12, 13)
    return ["–" if not v else v.replace(".", ",") + ("%" if i in shares else "") if i else v for i, v in enumerate(row)]


def test_exports_follow_the_filters(client, played):
    manager = staff_token(client, "manager")
    rows = list(csv.reader(io.StringIO(download(client, manager, "csv", "&by=clerk").decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["clerk1", "clerk3", "—", "Tổng cộng"]  # "—": arrivals belong to no clerk
    rows = list(
        csv.reader(
            io.StringIO(download(client, manager, "csv", f"&counter={played.counters['c3']}").decode("utf-8-sig"))
        )
    )
    assert rows[-1][:4] == ["Tổng cộng", "0", "1", "20.0"]  # arrivals have no counter


def test_the_history_page_draws_its_charts_and_staffing_table(client, played):
    response = client.get(f"/dashboard/history?{QUERY}", headers=bearer(staff_token(client, "manager")))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for chart in ("hourly", "waits", "trend", "heatmap"):
        assert f'data-chart="{chart}"' in html
    assert html.count('class="bar s0"') >= 11 and 'id="staffing"' in html
    assert "Sở Tư pháp" in html and 'data-figure="avg_wait_min"><span class="label">' in html
    # the breakdown offers both waits and says which is which
    assert "Chờ TB đến lần gọi đầu (phút)" in html and "Chờ TB đến lần gọi cuối (phút)" in html
    assert 'id="definitions"' in html and "chờ đến lần gọi cuối = lần gọi hoặc gọi lại cuối cùng" in html


@pytest.mark.parametrize("who", ["clerk1", "otherclerk"])
def test_clerks_cannot_download_statistics(client, played, who):
    response = client.get(f"/dashboard/export.csv?{QUERY}", headers=bearer(staff_token(client, who)))
    assert response.status_code == 403


def test_the_semicolon_csv_opens_in_vietnamese_excel_and_every_csv_says_its_charset_once(client, played):
    manager = staff_token(client, "manager")
    response = client.get(f"/dashboard/export.csv?{QUERY}&sep=semicolon", headers=bearer(manager))
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1:] == [[v.replace(".", ",") for v in row] for row in (TP, CA, TOTAL)]
    plain = client.get(f"/dashboard/export.csv?{QUERY}", headers=bearer(manager))
    assert plain.headers["Content-Type"] == "text/csv; charset=utf-8" and b";" not in plain.data.split(b"\r\n")[1]


def test_the_pdf_is_an_administrative_report_with_charts_page_numbers_and_a_signature(client, played, luot):
    from pypdf import PdfReader

    from server.models import Site

    with luot.db.write() as session:
        site = session.get(Site, played.site_id)
        site.settings = {
            **site.settings,
            "report_parent_unit": "Ủy ban nhân dân tỉnh Thanh Hóa",
            "report_place": "Thanh Hóa",
            "report_signer_title": "Giám đốc",
            "report_signer_name": "Nguyễn Văn An",
        }
        session.add(site)
    reader = PdfReader(io.BytesIO(download(client, staff_token(client, "manager"), "pdf")))
    pages = [" ".join(unicodedata.normalize("NFC", page.extract_text()).split()) for page in reader.pages]
    text = " ".join(pages)
    assert "ỦY BAN NHÂN DÂN TỈNH THANH HÓA" in text and "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG THỬ NGHIỆM" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "Thanh Hóa, ngày 19 tháng 11 năm 2026" in text
    assert "BÁO CÁO THỐNG KÊ HÀNG ĐỢI" in text
    for title in ("Lượt đến và đã phục vụ theo giờ", "Diễn biến theo ngày", "Lượt đến theo thứ và giờ"):
        assert title in text, title  # the page's charts, drawn in the PDF
    assert "GIÁM ĐỐC" in text and "(Ký, ghi rõ họ tên)" in text and "Nguyễn Văn An" in text
    for number, page in enumerate(pages, start=1):
        assert f"Trang {number}/{len(pages)}" in page
