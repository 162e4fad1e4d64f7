"""The counter surface in-process: its pages and who may see them, the console's state and figures, the rating
tablet's page and pending ticket, the audit trail of clerk actions and the Vietnamese catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from sqlmodel import col, select

from counter import routes
from server.domain.vocabulary import PRIORITY_CODES as PRIORITY_CLASSES
from server.domain.vocabulary import RatingScore
from server.i18n import translate
from server.models import CounterEvent, TicketEvent
from tests.support.api import act, bearer, issue, staff_token
from tests.support.world import PASSWORD

ROOT = Path(__file__).parents[2]
TEMPLATES = ROOT / "counter" / "templates"
CATALOGUE = ROOT / "server" / "translations" / "vi-counter.po"


def sign_in(client: FlaskClient, username: str) -> str:
    """Signs in with the session cookie, as the console does; returns the CSRF token."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["csrf_token"]


def post(client: FlaskClient, csrf: str, url: str, **body) -> dict:
    response = client.post(url, json=body, headers={"X-CSRFToken": csrf})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# ------------------------------------------------------------------ pages


@pytest.mark.parametrize("path", ["/counter/", "/counter/1"])
def test_clerk_pages_send_a_visitor_to_the_sign_in_page(client, world, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/counter/login")


def test_the_sign_in_page_is_vietnamese_by_default_and_english_on_request(client, world):
    page = client.get("/counter/login").get_data(as_text=True)
    assert "Đăng nhập" in page and "Tên đăng nhập" in page and 'lang="vi"' in page
    english = client.get("/counter/login?lang=en").get_data(as_text=True)
    assert "Username" in english and 'lang="en"' in english


def test_the_picker_lists_the_counters_of_the_clerks_site_and_who_holds_them(client, world):
    other = staff_token(client, "clerk2")
    act(client, other, world.counters["c2"], "open")
    sign_in(client, "clerk1")
    page = client.get("/counter/").get_data(as_text=True)
    assert re.findall(r'data-number="(\d+)"', page) == ["1", "2", "3"]  # site HN only, not HP's counter
    assert "Đang do clerk2 sử dụng" in page
    assert page.count("Đang trống") == 2


def test_a_clerk_holding_a_counter_goes_straight_to_its_console(client, world):
    csrf = sign_in(client, "clerk1")
    post(client, csrf, f"/api/v1/counters/{world.counters['c3']}/open")
    for path in ("/counter/", "/counter/login"):
        response = client.get(path, follow_redirects=True)
        assert response.request.path == f"/counter/{world.counters['c3']}"
    page = client.get(f"/counter/{world.counters['c3']}").get_data(as_text=True)
    assert "Quầy 3" in page and "Xuất nhập cảnh, Căn cước" in page
    assert 'data-action="next"' in page and "<kbd>F1</kbd>" in page


def test_the_console_of_a_counter_the_clerk_does_not_hold_sends_back_to_the_picker(client, world):
    act(client, staff_token(client, "clerk2"), world.counters["c1"], "open")
    sign_in(client, "clerk1")
    response = client.get(f"/counter/{world.counters['c1']}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/counter/")


def test_the_state_needs_a_signed_in_staff_member(client, world):
    assert client.get(f"/counter/{world.counters['c1']}/state").status_code == 401
    kiosk = client.get(f"/counter/{world.counters['c1']}/state", headers=bearer(world.kiosk_token))
    assert kiosk.status_code == 403
    assert kiosk.get_json()["error"]["messages"]["vi"] == "Bạn không có quyền thực hiện thao tác này."


def test_the_state_of_another_sites_counter_is_refused(client, world):
    other_site_clerk = staff_token(client, "otherclerk")
    response = client.get(f"/counter/{world.counters['c1']}/state", headers=bearer(other_site_clerk))
    assert response.status_code == 403


# ------------------------------------------------------------------ console state and figures


def test_the_console_state_has_the_lines_the_current_timing_and_the_clerks_figures(client, world, clock):
    counter = world.counters["c1"]
    clerk = staff_token(client, "clerk1")
    first = issue(client, world.kiosk_token, "TP-A")
    second = issue(client, world.kiosk_token, "TP-B", priority="elderly")
    third = issue(client, world.kiosk_token, "TP-A")
    act(client, clerk, counter, "open")

    act(client, clerk, counter, "next")  # the elderly citizen first
    clock.advance(minutes=1)
    act(client, clerk, counter, "start")
    clock.advance(minutes=4)
    act(client, clerk, counter, "finish")
    act(client, clerk, counter, "next")
    clock.advance(seconds=30)
    act(client, clerk, counter, "hold", note="Đi lấy giấy tờ")
    act(client, clerk, counter, "next")
    clock.advance(minutes=1)
    act(client, clerk, counter, "start")
    clock.advance(minutes=2)

    state = client.get(f"/counter/{counter}/state", headers=bearer(clerk)).get_json()
    assert state["mine"] is True
    assert state["counter"]["current"]["id"] == third["id"]
    assert state["counter"]["current"]["status"] == "serving"
    assert state["timing"]["started_at"] < state["now"] and state["timing"]["called_at"] < state["timing"]["started_at"]
    assert [t["id"] for t in state["counter"]["held"]] == [first["id"]]
    assert state["counter"]["held"][0]["note"] == "Đi lấy giấy tờ"
    assert state["figures"] == {
        "called": 3,
        "served": 1,
        "no_show": 0,
        "transferred": 0,
        "average_service_seconds": 240,
    }
    assert second["priority"] == "elderly"

    other = client.get(f"/counter/{counter}/state", headers=bearer(staff_token(client, "clerk2"))).get_json()
    assert other["mine"] is False
    assert other["figures"]["served"] == 0  # figures are the signed-in clerk's own


def test_figures_count_only_today_in_local_time(client, world, clock):
    counter = world.counters["c2"]
    clerk = staff_token(client, "clerk1")
    act(client, clerk, counter, "open")
    issue(client, world.kiosk_token, "TP-A")
    act(client, clerk, counter, "next")
    act(client, clerk, counter, "finish")
    figures = client.get(f"/counter/{counter}/state", headers=bearer(clerk)).get_json()["figures"]
    assert figures["served"] == 1
    clock.advance(hours=14, minutes=59)
    clerk = staff_token(client, "clerk1")  # the morning's token has expired by now
    assert client.get(f"/counter/{counter}/state", headers=bearer(clerk)).get_json()["figures"]["served"] == 1
    clock.advance(minutes=1)  # 00:00 the next day in Hà Nội (17:00 UTC)
    assert client.get(f"/counter/{counter}/state", headers=bearer(clerk)).get_json()["figures"]["served"] == 0


# ------------------------------------------------------------------ audit


def test_every_clerk_action_is_a_ticket_event_with_the_clerk_and_the_counter(client, world, luot):
    counter = world.counters["c1"]
    clerk_id = world.users["clerk1"]
    clerk = staff_token(client, "clerk1")
    tickets = [issue(client, world.kiosk_token, "TP-A") for _ in range(4)]
    act(client, clerk, counter, "open")
    act(client, clerk, counter, "pause", reason="Họp")
    act(client, clerk, counter, "resume")
    act(client, clerk, counter, "next")
    act(client, clerk, counter, "recall")
    act(client, clerk, counter, "start")
    act(client, clerk, counter, "finish")
    act(client, clerk, counter, "next")
    act(client, clerk, counter, "no-show")
    act(client, clerk, counter, "next")
    act(client, clerk, counter, "transfer", service="CA-X")
    act(client, clerk, counter, "next")
    act(client, clerk, counter, "hold", note="Bổ sung hồ sơ")
    response = client.post(f"/api/v1/tickets/{tickets[3]['id']}/return", headers=bearer(clerk))
    assert response.status_code == 200, response.get_json()
    act(client, clerk, counter, "next")
    act(client, clerk, counter, "finish")
    act(client, clerk, counter, "close")

    with luot.db.read() as session:
        events = session.exec(
            select(TicketEvent).where(TicketEvent.kind != "issued").order_by(col(TicketEvent.id))
        ).all()
        counter_events = session.exec(select(CounterEvent).order_by(col(CounterEvent.id))).all()
    by_clerk = [e for e in events if e.kind != "rated"]
    assert [e.kind for e in by_clerk] == [
        "called",
        "recalled",
        "started",
        "finished",
        "called",
        "no_show",
        "called",
        "transferred",
        "called",
        "held",
        "returned",
        "called",
        "started",
        "finished",
    ]
    assert all(e.user_id == clerk_id and e.counter_id == counter for e in by_clerk)
    assert [e.kind for e in counter_events] == ["opened", "paused", "resumed", "closed"]
    assert all(e.user_id == clerk_id and e.counter_id == counter for e in counter_events)
    assert counter_events[1].data == {"reason": "Họp"}


# ------------------------------------------------------------------ rating tablet


def test_the_rating_page_needs_a_rating_tablets_token(client, world):
    assert client.get("/counter/rating").status_code == 403
    assert client.get("/counter/rating?token=nope").status_code == 403
    refused = client.get(f"/counter/rating?token={world.kiosk_token}")
    assert refused.status_code == 403
    assert "Thiết bị chưa được cài đặt" in refused.get_data(as_text=True)
    page = client.get(f"/counter/rating?token={world.rating_token}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    text = page.get_data(as_text=True)
    assert f'data-counter-id="{world.counters["c1"]}"' in text and "Quầy 1" in text
    assert "csrf-token" not in text and "Set-Cookie" not in page.headers  # a tablet has no session


def test_a_tablet_is_offered_a_ticket_finished_at_its_counter_moments_ago_and_not_rated(client, world, clock):
    clerk = staff_token(client, "clerk1")
    counter = world.counters["c1"]
    act(client, clerk, counter, "open")
    ticket = issue(client, world.kiosk_token, "TP-A")

    def pending():
        response = client.get("/counter/rating/pending", headers=bearer(world.rating_token))
        assert response.status_code == 200
        return response.get_json()["ticket"]

    assert pending() is None
    act(client, clerk, counter, "next")
    assert pending() is None  # not finished yet
    act(client, clerk, counter, "finish")
    assert pending()["id"] == ticket["id"]
    clock.advance(minutes=3)
    assert pending() is None  # too long ago: another citizen may stand there now
    clock.advance(minutes=-3)
    rated = client.post(
        f"/api/v1/tickets/{ticket['id']}/rating", json={"score": "satisfied"}, headers=bearer(world.rating_token)
    )
    assert rated.status_code == 201
    assert pending() is None
    assert client.get("/counter/rating/pending", headers=bearer(world.kiosk_token)).status_code == 403


# ------------------------------------------------------------------ translations


def _page_msgids() -> set[str]:
    found = set()
    for template in TEMPLATES.glob("*.html"):
        found |= {m.group(2) for m in re.finditer(r"""_\(\s*(["'])(.*?)\1""", template.read_text())}
    for strings in (routes.CONSOLE_STRINGS, routes.RATING_STRINGS):
        found |= set(strings.values())
    found |= set(re.findall(r'translate\(\s*"([^"]+)"', (ROOT / "counter" / "routes.py").read_text()))
    return found


def test_every_string_of_the_counter_surface_has_a_vietnamese_translation():
    missing = sorted(m for m in _page_msgids() if translate(m, "vi") == m)
    assert missing == []


def test_the_counter_catalogue_keeps_placeholders_and_holds_no_unused_entries():
    with CATALOGUE.open("rb") as handle:
        catalogue = {m.id: m.string for m in read_po(handle, locale="vi") if m.id}
    used = _page_msgids()
    assert sorted(set(catalogue) - used) == []
    for msgid, text in catalogue.items():
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", text)), msgid


def test_every_priority_class_and_rating_score_has_a_label():
    assert {f"priority_{p}" for p in PRIORITY_CLASSES} <= set(routes.CONSOLE_STRINGS)
    assert set(RatingScore) <= set(routes.RATING_STRINGS)
