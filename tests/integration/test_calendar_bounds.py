"""Every date or month people give is within years 2000–2100 (server.calendar_bounds), refused beyond with a clear
400 (`date_out_of_range`, both languages) or a field error: at the ends of Python's calendar (years 1 and 9999) a
day's next day, its month's calendar or its UTC instant once raised a 500 on history, exports and the holiday
calendar, and a holiday dated 9999-12-31 was saved and then led to a 500 page. A manager page (history, audit
log, holiday calendar) says it in a page of the dashboard, in the page's language: it once showed the raw JSON
error in the browser."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlmodel import select

from server.commands import cli
from server.config_io import ConfigError, export_config, import_config
from server.models import Holiday, Service, Site
from tests.conftest import WEDNESDAY_9AM
from tests.support.api import bearer, staff_token
from tests.support.booking_world import OFFICE_HOURS
from tests.support.forms import form_of, post, text_of

FAR = ("9999-12-30", "9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01")


@pytest.fixture
def manager(client, world):
    return bearer(staff_token(client, "manager"))


@pytest.fixture
def admin(client, world):
    return bearer(staff_token(client, "admin"))


def refused_as_out_of_range(response, day: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] == "date_out_of_range"
    assert error["messages"] == {
        "vi": f"{day} nằm ngoài khoảng ngày được nhận (2000-01-01 đến 2100-12-31).",
        "en": f"{day} is outside the dates accepted (2000-01-01 to 2100-12-31).",
    }


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def refused_in_a_page(response, day: str, lang: str = "vi") -> None:
    """The dashboard's refusal page (dashboard.refusals): HTML, 400, the reason in the page's language."""
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html", response.get_data(as_text=True)[:500]
    reason = {
        "vi": f"{day} nằm ngoài khoảng ngày được nhận (2000-01-01 đến 2100-12-31).",
        "en": f"{day} is outside the dates accepted (2000-01-01 to 2100-12-31).",
    }[lang]
    html = response.get_data(as_text=True)
    assert 'id="refused" data-code="date_out_of_range"' in html and f'<html lang="{lang}">' in html
    assert reason in text_of(response)


@pytest.mark.parametrize("day", FAR)
def test_the_history_page_refuses_a_day_beyond_the_calendar_in_a_page(client, manager, day):
    headers = {**manager, **BROWSER}
    refused_in_a_page(client.get(f"/dashboard/history?from={day}&to={day}", headers=headers), day)
    refused_in_a_page(client.get(f"/dashboard/history?to={day}&lang=en", headers=headers), day, "en")
    refused_in_a_page(client.get(f"/dashboard/history?from={day}", headers=manager), day)  # no Accept at all


@pytest.mark.parametrize("day", FAR)
@pytest.mark.parametrize("path", ["/dashboard/export.csv", "/dashboard/export.pdf"])
def test_the_history_downloads_refuse_a_day_beyond_the_calendar_in_json(client, manager, path, day):
    refused_as_out_of_range(client.get(f"{path}?from={day}&to={day}", headers={**manager, **BROWSER}), day)
    refused_as_out_of_range(client.get(f"{path}?to={day}", headers=manager), day)


def test_a_client_asking_for_json_gets_the_history_pages_refusal_in_json(client, manager):
    json_headers = {**manager, "Accept": "application/json"}
    refused_as_out_of_range(client.get("/dashboard/history?to=9999-12-31", headers=json_headers), "9999-12-31")


def test_history_takes_the_first_and_last_days_of_the_calendar(client, manager):
    for first, last in (("2000-01-01", "2000-01-02"), ("2100-12-30", "2100-12-31")):
        page = client.get(f"/dashboard/history?from={first}&to={last}", headers=manager)
        assert page.status_code == 200, page.get_data(as_text=True)[:500]
    assert client.get("/dashboard/history?from=yesterday", headers=manager).status_code == 200  # still ignored


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1999-12", "2101-01", "10000-01"])
def test_the_holiday_calendar_refuses_a_month_beyond_the_calendar_in_a_page(client, admin, world, month):
    response = client.get(f"/admin/holidays?site={world.site_id}&month={month}", headers={**admin, **BROWSER})
    refused_in_a_page(response, month)
    english = client.get(f"/admin/holidays?site={world.site_id}&month={month}&lang=en", headers=admin)
    refused_in_a_page(english, month, "en")


def test_the_holiday_calendar_stops_at_its_first_and_last_months(client, admin, world):
    last = client.get(f"/admin/holidays?site={world.site_id}&month=2100-12", headers=admin).get_data(as_text=True)
    assert "month=2100-11" in last and "month=2101-01" not in last
    first = client.get(f"/admin/holidays?site={world.site_id}&month=2000-01", headers=admin).get_data(as_text=True)
    assert "month=2000-02" in first and "month=1999-12" not in first
    garbled = client.get(f"/admin/holidays?site={world.site_id}&month=dec", headers=admin)
    assert garbled.status_code == 200 and "month=2026-12" in garbled.get_data(as_text=True)  # this month's page


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2101-01-01"])
def test_a_holiday_beyond_the_calendar_is_refused_and_not_saved(client, admin, luot, world, day):
    response = client.post("/admin/holidays", data={"site_id": world.site_id, "day": day}, headers=admin)
    refused_in_a_page(response, day)
    with luot.db.read() as s:
        assert s.exec(select(Holiday)).all() == []


def test_a_holiday_on_the_last_day_is_saved_and_its_month_shown(client, admin, luot, world):
    data = {"site_id": world.site_id, "day": "2100-12-31", "month": "9999-12"}
    saved = client.post("/admin/holidays", data=data, headers=admin)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("month=2100-12")
    page = client.get(saved.headers["Location"], headers=admin)
    assert page.status_code == 200 and 'data-day="2100-12-31"' in page.get_data(as_text=True)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_audit_log_refuses_a_day_beyond_the_calendar_in_a_page(client, admin, day):
    refused_in_a_page(client.get(f"/admin/audit?from={day}", headers={**admin, **BROWSER}), day)
    refused_in_a_page(client.get(f"/admin/audit?to={day}&lang=en", headers=admin), day, "en")


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_onestop_export_refuses_a_day_beyond_the_calendar(client, manager, day):
    response = client.get(f"/api/v1/exports/onestop?from={day}&to={day}", headers=manager)
    refused_as_out_of_range(response, day)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_booking_days_and_slots_beyond_the_calendar_are_refused(client, luot, world, day):
    with luot.db.write() as s:
        service = s.exec(select(Service).where(Service.code == "TP-A")).one()
        service.bookable, service.online_numbers, service.opening_hours = True, True, OFFICE_HOURS
        s.add(service)
    refused_as_out_of_range(client.get(f"/book/HN/slots?service=TP-A&date={day}"), day)
    clerk = bearer(staff_token(client, "clerk1"))
    refused_as_out_of_range(client.get(f"/book/HN/staff/day?date={day}", headers=clerk), day)
    for offset in ("+07:00", "-12:00", "+14:00"):
        slot = f"{day}T09:00:00{offset}"
        made = client.post("/book/HN/bookings", json={"service": "TP-A", "slot": slot}, headers=clerk)
        refused_as_out_of_range(made, day)


def test_a_holiday_in_the_site_settings_beyond_the_calendar_is_a_field_error(client, admin, luot, world):
    path = f"/admin/sites/{world.site_id}"
    refused = post(client, admin, path, form_of(client, admin, path), **{"rule-holidays": "31/12/9999"})
    assert refused.status_code == 400 and 'data-field="holidays"' in refused.get_data(as_text=True)
    assert "9999-12-31 nằm ngoài khoảng ngày được nhận (2000-01-01 đến 2100-12-31)." in text_of(refused)
    with luot.db.read() as s:
        assert "holidays" not in (s.get(Site, world.site_id).settings or {})


def test_config_import_refuses_holidays_and_closed_dates_beyond_the_calendar(luot, world):
    with luot.db.read() as s:
        text = export_config(s)
    header = '[[site]]\ncode = "HN"\nname = "Trung tâm Phục vụ hành chính công thử nghiệm"\n'
    for table in ('holidays = ["9999-12-31"]', 'holidays = ["0001-01-01"]'):
        bad = text.replace(header, header + f"\n[site.settings]\n{table}\n")
        with pytest.raises(ConfigError, match="is outside the dates accepted"), luot.db.write() as s:
            import_config(s, bad, WEDNESDAY_9AM)
    closed = text.replace('code = "TP-A"\n', 'code = "TP-A"\nopening_hours = { closed_dates = ["9999-12-31"] }\n')
    with pytest.raises(ConfigError, match="9999-12-31 is outside the dates accepted"), luot.db.write() as s:
        import_config(s, closed, WEDNESDAY_9AM)


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "rollup", "--from", "0001-01-01"],
        ["stats", "rollup", "--to", "9999-12-31"],
        ["stats", "rollup", "--from", "yesterday"],
        ["export", "onestop", "--from", "9999-12-31", "--to", "9999-12-31"],
        ["export", "onestop", "--from", "2026-11-18", "--to", "0001-01-01"],
    ],
)
def test_the_commands_refuse_a_day_beyond_the_calendar_without_a_traceback(settings, args):
    env = {"LUOT_INSTANCE_DIR": str(settings.instance_path), "LUOT_LOG_LEVEL": "WARNING"}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2, result.output
    assert "a day YYYY-MM-DD from 2000-01-01 to 2100-12-31" in result.output
