"""Administration without JSON: opening hours, queue rules and device settings as forms, each setting checked on
save with the reason (Vietnamese by default, English with ?lang=en); "Đã lưu" after a save; a new device's full
address and QR code; locked accounts shown and unlocked. Through the real app (Flask client, real SQLite)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlmodel import select

from server.models import CounterService, Device, Service, Site
from server.stats.models import AuditEntry
from tests.support.api import bearer, staff_token
from tests.support.forms import form_of, post, text_of
from tests.support.world import PASSWORD

WEEK = [
    [("07:30", "11:30"), ("13:00", "17:00")],
    [("07:30", "11:30"), ("13:00", "17:00")],
    [("07:30", "11:30"), ("13:00", "17:00")],
    [("07:30", "11:30"), ("13:00", "17:00")],
    [("07:30", "11:30"), ("13:00", "17:00")],
    [("07:30", "11:30")],
    [],
]


@pytest.fixture
def admin(client, world):
    return bearer(staff_token(client, "admin"))


def service_of(luot, code: str) -> Service:
    with luot.db.read() as s:
        return s.exec(select(Service).where(Service.code == code)).one()


def test_opening_hours_are_a_weekly_form_with_breaks_and_a_saturday_morning(client, admin, luot):
    service = service_of(luot, "TP-A")
    path = f"/admin/services/{service.id}"
    data = form_of(client, admin, path)
    assert data["opening_hours-always"] == ["on"]  # TP-A takes citizens at any hour
    hours = {"opening_hours-always": []}
    for day, periods in enumerate(WEEK):
        for n, (start, end) in enumerate(periods):
            hours[f"opening_hours-{day}-{n}-from"], hours[f"opening_hours-{day}-{n}-to"] = start, end
    saved = post(client, admin, path, data, **hours)
    assert saved.status_code == 302, text_of(saved)[:2000]
    assert service_of(luot, "TP-A").opening_hours == {
        "days": [0, 1, 2, 3, 4],
        "periods": [["07:30", "11:30"], ["13:00", "17:00"]],
        "by_day": {"5": [["07:30", "11:30"]]},
    }
    shown = form_of(client, admin, path)
    assert shown["opening_hours-5-0-from"] == ["07:30"] and shown["opening_hours-5-1-from"] == [""]
    assert "opening_hours-always" not in shown
    refused = post(client, admin, path, shown, **{"opening_hours-2-1-from": "11:00"})
    assert refused.status_code == 400
    assert "Khung giờ 07:30–11:30 và 11:00–17:00 chồng lên nhau" in text_of(refused)
    assert service_of(luot, "TP-A").opening_hours["periods"][1] == ["13:00", "17:00"]


def test_queue_rules_are_a_form_and_keep_settings_without_a_field(client, admin, luot, world):
    with luot.db.write() as s:
        site = s.get(Site, world.site_id)
        site.settings = {"nham": True, "issue_outside_hours": True}
        s.add(site)
    path = f"/admin/sites/{world.site_id}"
    data = form_of(client, admin, path)
    assert data["rule-recall_limit"] == ["3"] and data["rule-issue_outside_hours"] == ["on"]
    assert '"nham": true' in data["settings-other"][0]
    saved = post(
        client,
        admin,
        path,
        data,
        **{
            "rule-recall_limit": "2",
            "rule-issue_outside_hours": [],
            "rule-holidays": "30/04/2027\n2027-05-01",
            "rule-rating_scale": ["very_satisfied", "satisfied", "neutral", "unsatisfied"],
            "report-report_signer_title": "GIÁM ĐỐC",
        },
    )
    assert saved.status_code == 302, text_of(saved)[:2000]
    with luot.db.read() as s:
        settings = s.get(Site, world.site_id).settings
    assert settings == {
        "nham": True,
        "recall_limit": 2,
        "holidays": ["2027-04-30", "2027-05-01"],
        "rating_scale": ["very_satisfied", "satisfied", "neutral", "unsatisfied"],
        "report_signer_title": "GIÁM ĐỐC",
    }  # the demo rule off is its default: not stored
    again = form_of(client, admin, path)
    for value, reason in (
        ({"rule-recall_limit": "-1"}, "Phải từ 0 trở lên"),
        ({"rule-announcement_template": "Mời số {ticket}"}, "phải đọc số"),
        ({"rule-holidays": "31/02/2027"}, "không phải là ngày"),
    ):
        refused = post(client, admin, path, again, **value)
        assert refused.status_code == 400 and reason in text_of(refused), (value, text_of(refused)[:3000])


@pytest.mark.parametrize(
    ("lang", "reason"),
    [
        ("vi", "không phải cách ghi máy in: máy in mạng ghi là network:ĐỊA_CHỈ[:CỔNG], ví dụ network:10.0.0.21:9100"),
        (
            "en",
            "is not a printer setting: a network printer is written network:HOST[:PORT], e.g. network:10.0.0.21:9100",
        ),
    ],
)
def test_a_device_setting_is_refused_on_save_with_the_reason(client, admin, luot, lang, reason):
    with luot.db.read() as s:
        kiosk = s.exec(select(Device).where(Device.kind == "kiosk")).first()
        before = dict(kiosk.settings)
    path = f"/admin/devices/{kiosk.id}?lang={lang}"
    data = form_of(client, admin, path)
    assert "dev-kiosk-printer" in data and "dev-board-rows" in data
    refused = post(client, admin, path, data, **{"dev-kiosk-printer": "tcp://10.0.0.21:9100"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert reason in unescape(page)
    assert 'data-field="printer"' in page and 'value="tcp://10.0.0.21:9100"' in page  # shown as typed, at its field
    with luot.db.read() as s:
        assert s.get(Device, kiosk.id).settings == before
    for value, why in (
        ({"dev-kiosk-printer": "usb:zz:01"}, "usb:VID:PID"),
        ({"dev-kiosk-return_seconds": "1"}, "3"),
    ):
        refused = post(client, admin, path, data, **value)
        assert refused.status_code == 400 and why in text_of(refused)
    saved = post(client, admin, path, data, **{"dev-kiosk-printer": "network:10.0.0.21:9100"})
    assert saved.status_code == 302
    with luot.db.read() as s:
        assert s.get(Device, kiosk.id).settings["printer"] == "network:10.0.0.21:9100"


def test_board_settings_are_checked_and_only_the_chosen_kinds_are_kept(client, admin, luot, world):
    with luot.db.read() as s:
        board = s.exec(select(Device).where(Device.kind == "board")).first()
    path = f"/admin/devices/{board.id}"
    data = form_of(client, admin, path)
    refused = post(client, admin, path, data, **{"dev-board-rows": "20"})
    assert refused.status_code == 400 and "Tối đa 12" in text_of(refused)
    saved = post(
        client,
        admin,
        path,
        data,
        **{
            "dev-board-rows": "8",
            "dev-board-orientation": "portrait",
            "dev-board-notice": "Nghỉ trưa 11:30–13:00",
            "dev-kiosk-printer": "dummy",  # another kind's input: not this device's setting
        },
    )
    assert saved.status_code == 302
    with luot.db.read() as s:
        settings = s.get(Device, board.id).settings
    assert settings["rows"] == 8 and settings["orientation"] == "portrait" and "printer" not in settings
    assert settings["notice"] == "Nghỉ trưa 11:30–13:00"


def test_a_counters_services_are_ticks_grouped_by_agency_and_all_are_kept(client, admin, luot, world):
    path = f"/admin/counters/{world.counters['c3']}"
    html = client.get(path, headers=admin).get_data(as_text=True)
    group = html.split('id="group-service_ids"', 1)[1].split("</fieldset>", 1)[0]
    headings = re.findall(r"<strong>([^<]+)</strong>", group)
    assert headings[:2] == ["HN · Sở Tư pháp", "HN · Công an tỉnh"]
    assert group.count('type="checkbox"') == 5 and group.count("checked") == 2
    data = form_of(client, admin, path)
    ids = [str(service_of(luot, code).id) for code in ("TP-A", "CA-X", "CA-Y")]
    saved = post(client, admin, path, data, service_ids=ids)
    assert saved.status_code == 302
    with luot.db.read() as s:
        served = s.exec(select(CounterService.service_id).where(CounterService.counter_id == world.counters["c3"]))
        assert sorted(str(i) for i in served) == sorted(ids)


def test_a_saved_form_says_saved_and_a_new_device_shows_its_address_and_qr_once(client, admin, luot, world):
    data = form_of(client, admin, "/admin/devices/new")
    created = post(
        client, admin, "/admin/devices/new", data, site_id=str(world.site_id), kind="board", name="TV tầng 2"
    )
    assert created.status_code == 302
    assert re.fullmatch(r".*/admin/devices/\d+", created.headers["Location"])  # the page left the create URL
    page = client.get(created.headers["Location"], headers=admin)
    html = page.get_data(as_text=True)
    assert "Đã lưu: TV tầng 2" in text_of(page)
    url = unescape(re.search(r'id="device-url" href="([^"]+)"', html)[1])
    assert url.startswith("http://") and "/display/?token=" in url
    assert re.search(r'id="device-qr"[^>]*><svg', html)
    token = url.split("token=", 1)[1]
    assert client.get(f"/display/?token={token}").status_code == 200
    assert "device-url" not in client.get(created.headers["Location"], headers=admin).get_data(as_text=True)
    renewed = client.post(f"{created.headers['Location']}/token", headers=admin)
    assert renewed.status_code == 302
    assert "device-qr" in client.get(renewed.headers["Location"], headers=admin).get_data(as_text=True)
    saved = post(client, admin, f"/admin/agencies/{1}", form_of(client, admin, "/admin/agencies/1"), floor="Tầng 2")
    assert "Đã lưu" in text_of(client.get(saved.headers["Location"], headers=admin))


def test_a_locked_account_shows_as_locked_and_an_admin_unlocks_it(client, admin, luot, world):
    for _ in range(luot.settings.login_max_failures):
        client.post("/api/v1/auth/token", json={"username": "clerk2", "password": "wrong-password"})
    locked = client.post("/api/v1/auth/token", json={"username": "clerk2", "password": PASSWORD})
    assert locked.status_code != 200
    listing = client.get("/admin/users/", headers=admin).get_data(as_text=True)
    row = listing.split(f'<tr data-id="{world.users["clerk2"]}">', 1)[1].split("</tr>", 1)[0]
    assert "Bị khóa sau 5 lần đăng nhập sai" in unescape(row) and 'class="unlock"' in row
    other = listing.split(f'<tr data-id="{world.users["clerk1"]}">', 1)[1].split("</tr>", 1)[0]
    assert "unlock" not in other
    unlocked = client.post(f"/admin/users/{world.users['clerk2']}/unlock", headers=admin)
    assert unlocked.status_code == 302
    assert "Đã mở khóa: clerk2" in text_of(client.get(unlocked.headers["Location"], headers=admin))
    assert client.post("/api/v1/auth/token", json={"username": "clerk2", "password": PASSWORD}).status_code == 200
    assert luot.signins.user_state("clerk2") == (0, False)
    with luot.db.read() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "unlock")).one()
        assert entry.summary == "users clerk2" and entry.username == "admin"


def test_a_new_range_that_would_print_another_services_numbers_is_refused_with_a_way_out(client, admin, luot, world):
    data = form_of(client, admin, "/admin/services/new")
    tp_agency = service_of(luot, "TP-A").agency_id
    new = {"agency_id": str(tp_agency), "code": "TP-Z", "name": "Dịch vụ mới", "sequence_id": "", "prefix": ""}
    refused = post(client, admin, "/admin/services/new", data, **new)  # 1–999 by default: CA-Y's numbers
    assert refused.status_code == 400
    message = text_of(refused)
    assert "Các số 1–999 đã được cấp cho CA-Y" in message and "ví dụ B" in message and "2001–2999" in message
    with luot.db.read() as s:
        assert s.exec(select(Service).where(Service.code == "TP-Z")).first() is None
    accepted = post(client, admin, "/admin/services/new", data, **{**new, "prefix": "B"})
    assert accepted.status_code == 302


NOT_NUMBERS = ("inf", "-inf", "Infinity", "nan", "NaN", "1e308", "1_000", "9" * 400)


@pytest.mark.parametrize("typed", NOT_NUMBERS)
def test_typical_service_minutes_must_be_a_finite_number_of_sensible_size(client, admin, luot, typed):
    """`inf` or 1e308 minutes once saved broke every estimate of the service's counters; `nan` was a 500."""
    service = service_of(luot, "TP-A")
    path = f"/admin/services/{service.id}"
    refused = post(client, admin, path, form_of(client, admin, path), default_service_minutes=typed)
    assert refused.status_code == 400, text_of(refused)[:2000]
    page = refused.get_data(as_text=True)
    assert 'data-field="default_service_minutes"' in page
    assert re.search(r"Phải là một số\.|Tối đa 480\.", text_of(refused)), text_of(refused)[:3000]
    assert service_of(luot, "TP-A").default_service_minutes == service.default_service_minutes


@pytest.mark.parametrize(
    ("field", "typed", "reason"),
    [
        ("default_service_minutes", "0", "Phải từ 0,1 trở lên."),
        ("default_service_minutes", "0,0000001", "Phải từ 0,1 trở lên."),  # 1e-7 minutes made every estimate nil
        ("default_service_minutes", "0.09", "Phải từ 0,1 trở lên."),
        ("default_service_minutes", "480,5", "Tối đa 480."),
        ("target_wait_minutes", "1e3", "Phải là số nguyên."),
        ("target_wait_minutes", "100000", "Tối đa 480."),
        ("target_service_minutes", "0", "Phải từ 1 trở lên."),
        ("daily_cap", "-1", "Phải từ 0 trở lên."),
        ("daily_cap", "9" * 30, "Tối đa 100000."),
        ("sort_order", "9223372036854775808", "Tối đa 9999."),
        ("slot_minutes", "2000", "Tối đa 1440."),
        ("booking_days_ahead", "100000", "Tối đa 365."),
        ("last_number", "1" + "0" * 19, "Tối đa 999999."),
    ],
)
def test_every_figure_of_the_service_form_is_bounded_with_the_reason_at_its_field(
    client, admin, luot, field, typed, reason
):
    service = service_of(luot, "TP-A")
    path = f"/admin/services/{service.id}"
    refused = post(client, admin, path, form_of(client, admin, path), **{field: typed})
    assert refused.status_code == 400, text_of(refused)[:2000]
    assert f'data-field="{field}"' in refused.get_data(as_text=True)
    assert reason in text_of(refused), text_of(refused)[:3000]


def test_the_bounds_speak_english_with_lang_en_and_a_decimal_comma_is_read(client, admin, luot):
    service = service_of(luot, "TP-A")
    path = f"/admin/services/{service.id}?lang=en"
    refused = post(client, admin, path, form_of(client, admin, path), default_service_minutes="nan")
    assert refused.status_code == 400 and "Must be a number." in text_of(refused)
    saved = post(client, admin, path, form_of(client, admin, path), default_service_minutes="7,5")
    assert saved.status_code == 302, text_of(saved)[:2000]
    assert service_of(luot, "TP-A").default_service_minutes == 7.5
    refused = post(client, admin, path, form_of(client, admin, path), default_service_minutes="0.0000001")
    assert refused.status_code == 400 and "Must be at least 0.1." in text_of(refused), text_of(refused)[:2000]
    saved = post(client, admin, path, form_of(client, admin, path), default_service_minutes="0,1")
    assert saved.status_code == 302, text_of(saved)[:2000]
    assert service_of(luot, "TP-A").default_service_minutes == 0.1


def test_counter_and_agency_numbers_are_bounded_too(client, admin, luot, world):
    path = f"/admin/counters/{world.counters['c1']}"
    refused = post(client, admin, path, form_of(client, admin, path), number="99999999999999999999")
    assert refused.status_code == 400 and 'data-field="number"' in refused.get_data(as_text=True)
    assert "Tối đa 999." in text_of(refused)
    refused = post(client, admin, "/admin/agencies/1", form_of(client, admin, "/admin/agencies/1"), sort_order="inf")
    assert refused.status_code == 400 and "Phải là số nguyên." in text_of(refused)


def test_every_number_field_of_the_administration_has_bounds():
    from dashboard.admin import ENTITIES
    from server.configuration.device_settings import SETTINGS
    from server.configuration.site_settings import OTHER, rule_settings

    numbers = [(e.name, f.name, f.bounds) for e in ENTITIES.values() for f in e.fields if f.kind in ("int", "float")]
    assert numbers and all(bounds is not None for _e, _f, bounds in numbers), numbers
    settings = [s for s, _d in rule_settings()] + [s for group in SETTINGS.values() for s in group] + [*OTHER.values()]
    unbounded = [s.name for s in settings if s.kind == "int" and (s.minimum is None or s.maximum is None)]
    assert unbounded == []  # a site rule, device or other setting that is a number has a range


def test_a_devices_other_settings_hold_plain_json_only(client, admin, luot):
    with luot.db.read() as s:
        kiosk = s.exec(select(Device).where(Device.kind == "kiosk")).first()
        before = dict(kiosk.settings)
    path = f"/admin/devices/{kiosk.id}"
    refused = post(client, admin, path, form_of(client, admin, path), **{"settings-other": '{"volume": NaN}'})
    assert refused.status_code == 400 and 'data-field="other"' in refused.get_data(as_text=True)
    assert "Thiết lập khác, volume: Phải là một số." in text_of(refused)
    with luot.db.read() as s:
        assert s.get(Device, kiosk.id).settings == before
