"""A site may keep counters for the clerks assigned to them (site setting `counter_clerks`): others are refused
with a reason in both languages, the picker shows those counters shut, managers and admins may stand in. The
setting is checked where it is typed (administration, config import): counters the site has, each kept for at least
one user who may work there; and it is read safely whatever a database holds."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from server.config_io import ConfigError, export_config, import_config
from server.domain.rules import SiteRules
from server.models import Site
from tests.conftest import WEDNESDAY_9AM
from tests.support.api import act, bearer, issue, staff_token
from tests.support.forms import form_of, post, text_of
from tests.support.world import PASSWORD, build_world


def test_a_counter_kept_for_its_clerks_refuses_the_others_and_says_why(client, luot):
    world = build_world(luot.db, counter_clerks={"1": ["clerk1", "clerk3"]})
    refused = act(client, staff_token(client, "clerk2"), world.counters["c1"], "open", expect=403)
    assert refused["error"]["code"] == "counter_not_allowed"
    assert refused["error"]["messages"] == {
        "vi": "Quầy 1 chỉ dành cho cán bộ được phân công; vui lòng chọn quầy khác.",
        "en": "Counter 1 is kept for the clerks assigned to it; please choose another counter.",
    }
    act(client, staff_token(client, "clerk2"), world.counters["c2"], "open")  # a counter not listed: anyone
    act(client, staff_token(client, "clerk1"), world.counters["c1"], "open")  # an assigned clerk
    act(client, staff_token(client, "clerk1"), world.counters["c1"], "close")
    act(client, staff_token(client, "manager"), world.counters["c1"], "open")  # a manager stands in


def test_the_picker_shows_a_kept_counter_shut_to_other_clerks(client, luot):
    build_world(luot.db, counter_clerks={"1": ["clerk1"]})
    assert client.post("/api/v1/auth/login", json={"username": "clerk2", "password": PASSWORD}).status_code == 200
    html = client.get("/counter/").get_data(as_text=True)
    kept = html[html.index('data-number="1"') - 200 : html.index('data-number="1"') + 400]
    assert " kept" in kept and "disabled" in kept and "Dành cho cán bộ được phân công" in kept
    free = html[html.index('data-number="2"') - 200 : html.index('data-number="2"') + 400]
    assert " kept" not in free and "disabled" not in free


def test_counter_clerks_are_read_from_the_site_settings():
    rules = SiteRules.from_settings({"counter_clerks": {1: ["a"], "2": []}})
    assert rules.may_open(1, "a", "clerk") and not rules.may_open(1, "b", "clerk")
    assert not rules.may_open(2, "a", "clerk")  # an empty list keeps the counter for nobody but managers
    assert rules.may_open(2, "a", "manager") and rules.may_open(3, "b", "clerk")
    assert SiteRules.from_settings({"counter_clerks": "nonsense"}).may_open(1, "b", "clerk")


def site_settings(luot, site_id: int) -> dict:
    with luot.db.read() as s:
        return dict(s.get(Site, site_id).settings or {})


def save_other_settings(client, luot, world, other: str, lang: str = "vi"):
    admin = bearer(staff_token(client, "admin"))
    path = f"/admin/sites/{world.site_id}?lang={lang}"
    return post(client, admin, path, form_of(client, admin, path), **{"settings-other": other})


def test_one_username_typed_alone_is_saved_as_a_list_and_that_clerk_opens_the_counter(client, luot):
    """{"1": "clerk1"} was stored as is and read as the letters c, l, e…: clerk1 was refused their own counter."""
    world = build_world(luot.db)
    saved = save_other_settings(client, luot, world, '{"counter_clerks": {"01": " Clerk1 "}}')
    assert saved.status_code == 302, text_of(saved)[:3000]
    assert site_settings(luot, world.site_id)["counter_clerks"] == {"1": ["clerk1"]}
    act(client, staff_token(client, "clerk2"), world.counters["c1"], "open", expect=403)
    act(client, staff_token(client, "clerk1"), world.counters["c1"], "open")


@pytest.mark.parametrize(
    ("other", "reason"),
    [
        ('{"counter_clerks": {"1": 5}}', "Quầy 1 cần danh sách tên đăng nhập"),  # was a 500
        ('{"counter_clerks": {"1": [5]}}', "Quầy 1 cần danh sách tên đăng nhập"),
        ('{"counter_clerks": ["clerk1"]}', "Phải gán mỗi số quầy với danh sách tên đăng nhập"),
        ('{"counter_clerks": {"quầy 1": ["clerk1"]}}', "quầy 1 không phải số quầy (1–999)"),
        ('{"counter_clerks": {"0": ["clerk1"]}}', "0 không phải số quầy (1–999)"),
        ('{"counter_clerks": {"1": ["clerk1"], "01": []}}', "Quầy 01 được ghi hai lần"),
        ('{"counter_clerks": {"1": ["nobody"]}}', "Quầy 1: nobody không phải tài khoản được làm việc tại điểm này"),
        # a user of another site
        ('{"counter_clerks": {"1": ["otherclerk"]}}', "Quầy 1: otherclerk không phải tài khoản"),
        # a counter the site does not have (HN has 1–3; the other site's counters are not this site's)
        ('{"counter_clerks": {"4": ["clerk1"]}}', "Quầy 4: điểm này không có quầy mang số này."),
        ('{"counter_clerks": {"999": ["clerk1"]}}', "Quầy 999: điểm này không có quầy mang số này."),
        # a counter kept for no one (an empty list, or names that are all blank)
        ('{"counter_clerks": {"2": []}}', "Quầy 2 cần ít nhất một tên đăng nhập"),
        ('{"counter_clerks": {"2": [" ", ""]}}', "Quầy 2 cần ít nhất một tên đăng nhập"),
        ('{"counter_clerks": {"2": null}}', "Quầy 2 cần danh sách tên đăng nhập"),
    ],
)
def test_counter_clerks_of_another_shape_or_unknown_users_are_refused_at_the_box(client, luot, other, reason):
    world = build_world(luot.db)
    before = site_settings(luot, world.site_id)
    refused = save_other_settings(client, luot, world, other)
    assert refused.status_code == 400, text_of(refused)[:2000]
    assert 'data-field="other"' in refused.get_data(as_text=True)
    assert f"Thiết lập khác, counter_clerks: {reason}" in text_of(refused), text_of(refused)[:3000]
    assert site_settings(luot, world.site_id) == before


def test_the_refusal_is_in_english_with_lang_en(client, luot):
    world = build_world(luot.db)
    refused = save_other_settings(client, luot, world, '{"counter_clerks": {"1": 5}}', lang="en")
    assert refused.status_code == 400
    assert "Other settings, counter_clerks: Counter 1 needs a list of usernames" in text_of(refused)
    unknown = save_other_settings(client, luot, world, '{"counter_clerks": {"7": ["clerk1"]}}', lang="en")
    assert unknown.status_code == 400
    assert "counter_clerks: Counter 7: this site has no counter with this number." in text_of(unknown)
    empty = save_other_settings(client, luot, world, '{"counter_clerks": {"1": []}}', lang="en")
    assert empty.status_code == 400
    assert "counter_clerks: Counter 1 needs at least one username, e.g." in text_of(empty)


def test_a_new_site_has_no_counter_to_keep_yet(client, luot):
    build_world(luot.db)
    admin = bearer(staff_token(client, "admin"))
    data = {**form_of(client, admin, "/admin/sites/new"), "code": ["DN"], "name": ["Đà Nẵng"], "kind": ["centre"]}
    refused = post(
        client, admin, "/admin/sites/new", data, **{"settings-other": '{"counter_clerks": {"1": ["admin"]}}'}
    )
    assert refused.status_code == 400, text_of(refused)[:2000]
    assert "Quầy 1: điểm này không có quầy mang số này." in text_of(refused)
    with luot.db.read() as s:
        assert s.exec(select(Site).where(Site.code == "DN")).first() is None


def test_a_province_level_user_may_be_named_and_managers_still_stand_in(client, luot):
    world = build_world(luot.db)
    saved = save_other_settings(client, luot, world, '{"counter_clerks": {"2": ["admin"]}}')
    assert saved.status_code == 302, text_of(saved)[:3000]
    act(client, staff_token(client, "clerk1"), world.counters["c2"], "open", expect=403)  # kept for the admin
    act(client, staff_token(client, "manager"), world.counters["c2"], "open")


@pytest.mark.parametrize(
    "stored",
    [
        {"1": "clerk1"},  # what the form used to store
        {"1": 5, "2": {"x": 1}},  # what it crashed on (other paths could store it)
        {"1": ["clerk1"], "2": 5},
        ["clerk1"],
        "clerk1",
        5,
    ],
)
def test_whatever_an_older_database_holds_the_counters_open_and_tickets_are_issued(client, luot, stored):
    world = build_world(luot.db)
    with luot.db.write() as s:
        site = s.get(Site, world.site_id)
        site.settings = {"counter_clerks": stored, "recall_limit": "three", "holidays": 20270430}
        s.add(site)
    issue(client, world.kiosk_token, "TP-A")
    clerk1 = act(client, staff_token(client, "clerk1"), world.counters["c1"], "open")
    assert clerk1["counter"]["status"] == "open"
    act(client, staff_token(client, "clerk2"), world.counters["c2"], "open")  # counter 2 was never kept for anyone


def test_older_values_are_read_as_the_admin_meant_or_left_at_their_default():
    rules = SiteRules.from_settings(
        {
            "counter_clerks": {"01": "clerk1", "2": 5, "3": None, "4": ["a", " b "]},
            "recall_limit": "three",
            "holidays": "2027-04-30",
            "rating_scale": 5,
            "nham": True,
        }
    )
    assert rules.counter_clerks == {"1": ("clerk1",), "3": (), "4": ("a", "b")}
    assert rules.may_open(1, "clerk1", "clerk") and not rules.may_open(1, "c", "clerk")
    assert rules.may_open(2, "anyone", "clerk")  # an entry of no usable shape keeps nothing
    assert rules.recall_limit == 3 and rules.holidays == ("2027-04-30",)
    assert rules.rating_scale == SiteRules().rating_scale and rules.extra == {"nham": True}
    assert SiteRules.from_settings(["not", "a", "mapping"]) == SiteRules()  # type: ignore[arg-type]


def test_config_import_checks_counter_clerks_against_the_sites_staff_and_stores_lists(luot):
    world = build_world(luot.db)
    with luot.db.read() as s:
        text = export_config(s)
    site_header = '[[site]]\ncode = "HN"\nname = "Trung tâm Phục vụ hành chính công thử nghiệm"\n'
    assert site_header in text
    bad = text.replace(site_header, site_header + '\n[site.settings]\ncounter_clerks = { 1 = ["otherclerk"] }\n')
    with pytest.raises(ConfigError) as refused, luot.db.write() as s:
        import_config(s, bad, WEDNESDAY_9AM)
    assert "counter_clerks: Counter 1: otherclerk is not a user who may work at this site." in str(refused.value)
    assert refused.value.line == bad.splitlines().index("[site.settings]") + 1
    good = text.replace(site_header, site_header + '\n[site.settings]\ncounter_clerks = { 1 = "Clerk1" }\n')
    with luot.db.write() as s:
        import_config(s, good, WEDNESDAY_9AM)
    assert site_settings(luot, world.site_id)["counter_clerks"] == {"1": ["clerk1"]}
    with pytest.raises(ConfigError, match="Counter 1 needs a list of usernames"), luot.db.write() as s:
        import_config(s, good.replace('{ 1 = "Clerk1" }', "{ 1 = 5 }"), WEDNESDAY_9AM)


def test_config_import_refuses_a_counter_the_site_will_not_have_and_a_counter_kept_for_no_one(luot):
    build_world(luot.db)
    with luot.db.read() as s:
        text = export_config(s)
    hn = '[[site]]\ncode = "HN"\nname = "Trung tâm Phục vụ hành chính công thử nghiệm"\n'
    hp = '[[site]]\ncode = "HP"\nname = "Chi nhánh khác"\n'
    assert hn in text and hp in text

    def with_clerks(header: str, table: str, document: str = text) -> str:
        return document.replace(header, header + f"\n[site.settings]\ncounter_clerks = {table}\n")

    for bad, reason in (
        (with_clerks(hn, '{ 4 = ["clerk1"] }'), "Counter 4: this site has no counter with this number."),
        (with_clerks(hp, '{ 2 = ["otherclerk"] }'), "Counter 2: this site has no counter with this number."),
        (with_clerks(hn, "{ 1 = [] }"), "Counter 1 needs at least one username, e.g."),
    ):
        with pytest.raises(ConfigError) as refused, luot.db.write() as s:
            import_config(s, bad, WEDNESDAY_9AM)
        assert f"counter_clerks: {reason}" in str(refused.value)
    # a counter the file adds to the site may be kept: the site has it once the file is imported
    board = '[[site.device]]\nname = "Board other"\n'
    added = text.replace(board, '[[site.counter]]\nnumber = 2\nname = "Quầy 2"\n\n' + board, 1)
    with luot.db.write() as s:
        import_config(s, with_clerks(hp, '{ 2 = ["otherclerk"] }', added), WEDNESDAY_9AM)
    with luot.db.read() as s:
        hp_settings = s.exec(select(Site).where(Site.code == "HP")).one().settings
    assert hp_settings["counter_clerks"] == {"2": ["otherclerk"]}


@pytest.mark.parametrize(
    ("other", "field", "reason"),
    [
        ('{"tracking_near_places": 500}', "tracking_near_places", "Tối đa 50."),
        ('{"tracking_near_places": NaN}', "tracking_near_places", "Phải là số nguyên."),
        ('{"nham": "yes"}', "nham", "Phải là có hoặc không."),
        ('{"board_notice": 12}', "board_notice", "Phải là chữ."),
        ('{"oidc": {"issuer": 5}}', "oidc.issuer", "Phải là chữ."),
        ('{"oidc": {"client-id": "x"}}', "oidc.client-id", "Khóa không hợp lệ"),
        ('{"oidc": "on"}', "oidc", "Cần một bảng gồm"),
        ('{"my_note": [1, {"x": Infinity}]}', "my_note", "Phải là một số."),
    ],
)
def test_every_known_key_of_the_box_is_checked_for_type_and_range(client, luot, other, field, reason):
    world = build_world(luot.db)
    refused = save_other_settings(client, luot, world, other)
    assert refused.status_code == 400, text_of(refused)[:2000]
    assert f"Thiết lập khác, {field}: {reason}" in text_of(refused), text_of(refused)[:3000]


def test_a_recall_wording_that_cannot_be_spoken_is_refused(client, luot):
    world = build_world(luot.db)
    admin = bearer(staff_token(client, "admin"))
    path = f"/admin/sites/{world.site_id}"
    for wording in ("Mời lần thứ {lan} công dân {ten}", "Mời lần thứ {lan} công dân"):
        refused = post(client, admin, path, form_of(client, admin, path), **{"rule-recall_template": wording})
        assert refused.status_code == 400, (wording, text_of(refused)[:2000])
    assert "recall_template" not in site_settings(luot, world.site_id)


def test_other_keys_still_keep_plain_json_as_typed(client, luot):
    world = build_world(luot.db)
    saved = save_other_settings(client, luot, world, json.dumps({"my_note": {"a": [1, 2.5, "x", None]}}))
    assert saved.status_code == 302, text_of(saved)[:2000]
    assert site_settings(luot, world.site_id)["my_note"] == {"a": [1, 2.5, "x", None]}
