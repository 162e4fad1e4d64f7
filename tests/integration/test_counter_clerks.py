"""A site may keep counters for the clerks assigned to them (site setting `counter_clerks`): others are refused
with a reason in both languages, the picker shows those counters shut, managers and admins may stand in."""

from __future__ import annotations

from server.domain.rules import SiteRules
from tests.support.api import act, staff_token
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
