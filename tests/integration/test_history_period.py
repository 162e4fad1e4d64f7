"""The period a history page or download reports is the one asked, or it is refused and the page says why: a
period of more than 400 days (dashboard.routes.MAX_RANGE_DAYS) was once cut to its last 400 days without a word,
and a "to" far in the future then reported 400 empty days to come. A day after today now reads as today, so the
report runs up to today and the heading and the download name the period reported."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from tests.integration.test_exports import TOTAL, played  # noqa: F401  (a fixture: Wednesday 18/11/2026, read on 19/11)
from tests.support.api import bearer, staff_token
from tests.support.forms import text_of

TODAY = date(2026, 11, 19)  # the clock of `played`
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def manager(client, played):  # noqa: F811
    return bearer(staff_token(client, "manager"))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


@pytest.mark.parametrize("query", ["from=2026-11-18&to=2100-12-31", "to=2100-12-31", "from=2100-12-31&to=2026-11-18"])
def test_a_to_after_today_reports_up_to_today_and_says_so(client, manager, query):
    page = client.get(f"/dashboard/history?{query}", headers={**manager, **BROWSER})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    assert "– 19/11/2026" in text_of(page) and 'name="to" value="2026-11-19"' in page.get_data(as_text=True)
    download = client.get(f"/dashboard/export.csv?{query}", headers=manager)
    assert csv_rows(download)[-1] == TOTAL  # Wednesday's figures, not 400 empty days to come
    assert download.headers["Content-Disposition"].endswith('-2026-11-19.csv"')


def test_a_period_wholly_after_today_reports_today(client, manager):
    page = client.get("/dashboard/history?from=2027-01-01&to=2027-02-01", headers=manager)
    assert page.status_code == 200 and "19/11/2026 – 19/11/2026" in text_of(page)


def test_a_period_of_400_days_is_reported(client, manager):
    first = TODAY - timedelta(days=399)
    download = client.get(f"/dashboard/export.csv?from={first}&to={TODAY}", headers=manager)
    assert csv_rows(download)[-1] == TOTAL
    assert download.headers["Content-Disposition"].endswith(f'"luot-{first}-{TODAY}.csv"')
    assert client.get(f"/dashboard/history?from={first}&to={TODAY}", headers=manager).status_code == 200


LONGER = [
    (f"from={TODAY - timedelta(days=400)}&to={TODAY}", "2025-10-15", "2026-11-19", 401),
    ("from=2025-01-01&to=2026-11-18", "2025-01-01", "2026-11-18", 687),
    ("from=2026-11-18&to=2025-01-01", "2025-01-01", "2026-11-18", 687),  # either order
    ("from=2000-01-01&to=2100-12-31", "2000-01-01", "2026-11-19", 9820),  # "to" read as today first
    ("from=2025-01-01", "2025-01-01", "2026-11-18", 687),  # "from" alone runs to yesterday
]


@pytest.mark.parametrize(("query", "first", "last", "days"), LONGER)
def test_a_period_longer_than_400_days_is_refused_in_the_page_in_its_language(
    client, manager, query, first, last, days
):
    page = client.get(f"/dashboard/history?{query}", headers={**manager, **BROWSER})
    assert page.status_code == 400 and page.mimetype == "text/html", page.get_data(as_text=True)[:500]
    assert 'data-code="range_too_long"' in page.get_data(as_text=True)
    assert (
        f"Từ {first} đến {last} là {days} ngày; một báo cáo tối đa 400 ngày. Vui lòng chọn khoảng thời gian ngắn hơn."
        in text_of(page)
    )
    english = client.get(f"/dashboard/history?{query}&lang=en", headers=manager)
    assert english.status_code == 400
    assert f"{first} to {last} is {days} days; a report covers at most 400 days." in text_of(english)


@pytest.mark.parametrize("kind", ["csv", "xlsx", "pdf"])
@pytest.mark.parametrize(("query", "first", "last", "days"), LONGER[:2])
def test_a_period_longer_than_400_days_is_refused_by_the_downloads_in_json(
    client, manager, kind, query, first, last, days
):
    response = client.get(f"/dashboard/export.{kind}?{query}", headers={**manager, **BROWSER})
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] == "range_too_long"
    assert error["messages"] == {
        "vi": f"Từ {first} đến {last} là {days} ngày; một báo cáo tối đa 400 ngày. "
        "Vui lòng chọn khoảng thời gian ngắn hơn.",
        "en": f"{first} to {last} is {days} days; a report covers at most 400 days. Please choose a shorter period.",
    }
