"""Who may rate (issue 15): only the citizen — the phone by tracking token until the day ends, the tablet of
the counter that served the ticket within the site's window after Finish; one rating per ticket; statistics
count only citizen sources."""

from __future__ import annotations

import pytest
from sqlmodel import select

from server.clock import local_date
from server.domain.ticket_log import log_event
from server.domain.vocabulary import EventKind
from server.models import Rating, Site, Ticket
from server.provisioning import create_device
from server.stats.live import expand
from server.stats.queries import Filters, history
from server.stats.rollup import rollup_day
from tests.support.api import act, bearer, issue, staff_token

OTHER_TABLET = "rating-token-2"


@pytest.fixture
def served(client, world, luot):
    """A TP-A ticket finished at counter 1 by clerk1 (09:00); a second tablet paired with counter 2."""
    with luot.db.write() as session:
        create_device(
            session,
            session.get(Site, world.site_id),
            "rating",
            "Rating 2",
            OTHER_TABLET,
            counter_id=world.counters["c2"],
        )
    ticket = issue(client, world.kiosk_token, "TP-A")
    clerk = staff_token(client, "clerk1")
    act(client, clerk, world.counters["c1"], "open")
    act(client, clerk, world.counters["c1"], "next")
    act(client, clerk, world.counters["c1"], "finish")
    return {"ticket": ticket, "clerk": clerk}


def rate_by_id(client, ticket, token, **body):
    return client.post(
        f"/api/v1/tickets/{ticket['id']}/rating", json={"score": "satisfied", **body}, headers=bearer(token)
    )


def rate_by_phone(client, ticket, **body):
    return client.post(f"/api/v1/tickets/{ticket['tracking_token']}/rating", json={"score": "satisfied", **body})


def refusal(response, status):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["messages"]["vi"] and error["messages"]["en"] and error["messages"]["vi"] != error["messages"]["en"]
    return error


def test_a_staff_account_gets_403_with_a_clear_message(client, served):
    error = refusal(rate_by_id(client, served["ticket"], served["clerk"]), 403)
    assert error["code"] == "staff_cannot_rate"
    assert "cán bộ" in error["messages"]["vi"] and "Staff" in error["messages"]["en"]
    manager = staff_token(client, "manager")
    assert refusal(rate_by_id(client, served["ticket"], manager), 403)["code"] == "staff_cannot_rate"


def test_another_counters_tablet_gets_403(client, served):
    error = refusal(rate_by_id(client, served["ticket"], OTHER_TABLET), 403)
    assert error["code"] == "rating_wrong_counter"


def test_the_counters_tablet_rates_within_the_window_and_gets_201(client, world, served, clock):
    clock.advance(minutes=30)  # the default window: 30 minutes after Finish, inclusive
    response = rate_by_id(client, served["ticket"], world.rating_token)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["source"] == "tablet"


def test_the_tablet_after_the_window_gets_403(client, world, served, clock):
    clock.advance(minutes=31)
    assert refusal(rate_by_id(client, served["ticket"], world.rating_token), 403)["code"] == "rating_window_closed"


def test_the_tablet_window_is_a_site_setting(client, world, served, clock, luot):
    with luot.db.write() as session:
        site = session.get(Site, world.site_id)
        site.settings = {**site.settings, "rating_tablet_minutes": 5}
        session.add(site)
    clock.advance(minutes=6)
    assert refusal(rate_by_id(client, served["ticket"], world.rating_token), 403)["code"] == "rating_window_closed"


def test_the_phone_rates_until_the_end_of_the_day_and_gets_201(client, served, clock):
    clock.advance(hours=14, minutes=59)  # 23:59 local the same day
    response = rate_by_phone(client, served["ticket"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["source"] == "phone"


def test_the_phone_after_the_day_gets_403(client, served, clock):
    clock.advance(hours=15)  # 00:00 local the next day
    tracked = client.get(f"/api/v1/tickets/{served['ticket']['tracking_token']}").get_json()
    assert tracked["can_rate"] is False
    assert refusal(rate_by_phone(client, served["ticket"]), 403)["code"] == "rating_window_closed"


def test_a_second_rating_gets_409_whoever_sends_it(client, world, served, luot):
    assert rate_by_phone(client, served["ticket"], score="unsatisfied").status_code == 201
    assert refusal(rate_by_phone(client, served["ticket"]), 409)["code"] == "already_rated"
    assert refusal(rate_by_id(client, served["ticket"], world.rating_token), 409)["code"] == "already_rated"
    with luot.db.read() as session:
        ratings = session.exec(select(Rating)).all()
    assert [(r.score, r.source) for r in ratings] == [("unsatisfied", "phone")]


def test_reasons_are_recorded_only_from_the_sites_list_after_a_negative_score(client, world, served, luot):
    bad = rate_by_phone(client, served["ticket"], score="unsatisfied", reasons=["Không có trong danh sách"])
    assert refusal(bad, 400)["code"] == "invalid_reason"
    after_positive = rate_by_phone(client, served["ticket"], score="satisfied", reasons=["Chờ lâu"])
    assert refusal(after_positive, 400)["code"] == "invalid_reason"
    good = rate_by_id(
        client,
        served["ticket"],
        world.rating_token,
        score="unsatisfied",
        reasons=["Chờ lâu", "Thái độ cán bộ"],
        comment="  =cmd|' /C calc'!A0 ",
    )
    assert good.status_code == 201, good.get_json()
    with luot.db.read() as session:
        rating = session.exec(select(Rating)).one()
    assert (rating.reasons, rating.comment, rating.source) == (
        ["Chờ lâu", "Thái độ cán bộ"],
        "=cmd|' /C calc'!A0",
        "tablet",
    )


def test_statistics_count_only_citizen_ratings(client, world, served, luot, clock):
    """An old `staff` rating written straight into the database (as the old API did) is not counted, live or in
    history; the phone's rating is."""
    other = issue(client, world.kiosk_token, "TP-A")
    act(client, served["clerk"], world.counters["c1"], "next")
    act(client, served["clerk"], world.counters["c1"], "finish")
    now = clock.now()
    with luot.db.write() as session:
        ticket = session.get(Ticket, other["id"])
        session.add(
            Rating(
                ticket_id=ticket.id,
                site_id=ticket.site_id,
                agency_id=ticket.agency_id,
                service_id=ticket.service_id,
                counter_id=ticket.counter_id,
                clerk_id=ticket.clerk_id,
                score="very_satisfied",
                source="staff",
                at=now,
            )
        )
        log_event(
            session, ticket, EventKind.RATED, now, ticket.counter_id, None, score="very_satisfied", source="staff"
        )
    assert rate_by_phone(client, served["ticket"], score="unsatisfied").status_code == 201
    luot.live_stats.mark_stale(world.site_id)
    manager = bearer(staff_token(client, "manager"))
    live = expand(client.get(f"/dashboard/api/live?site={world.site_id}", headers=manager).get_json())
    total = live["total"]
    assert (total["ratings"], total["satisfaction"], total["served"], total["rated_share"]) == (1, 0.0, 2, 0.5)
    day = local_date(now)
    clock.advance(days=1)
    with luot.db.write() as session:
        rollup_day(session, day, world.site_id, clock.now())
    with luot.db.read() as session:
        past = history(session, Filters(day, day, (world.site_id,)), clock.now()).total_figures()
    assert (past["ratings"], past["satisfaction"]) == (1, 0.0)


def test_managers_list_todays_negative_citizen_ratings_with_reason_comment_counter_and_clerk(client, world, served):
    assert (
        rate_by_id(
            client,
            served["ticket"],
            world.rating_token,
            score="unsatisfied",
            reasons=["Chờ lâu"],
            comment="<script>x</script>",
        ).status_code
        == 201
    )
    url = f"/dashboard/api/negative-ratings?site={world.site_id}"
    assert client.get(url, headers=bearer(staff_token(client, "clerk1"))).status_code == 403  # names clerks
    listed = client.get(url, headers=bearer(staff_token(client, "manager"))).get_json()["ratings"]
    assert len(listed) == 1
    row = listed[0]
    assert (row["ticket_id"], row["display_number"], row["score"], row["reasons"], row["comment"]) == (
        served["ticket"]["id"],
        served["ticket"]["display_number"],
        "unsatisfied",
        ["Chờ lâu"],
        "<script>x</script>",
    )
    assert (row["counter"]["id"], row["clerk"], row["source"]) == (world.counters["c1"], "clerk1", "tablet")


def test_history_downloads_carry_reasons_and_comments_made_inert(client, world, served):
    """CSV, Excel and PDF of history list the reason counts and the comments; a comment that a spreadsheet
    would run as a formula is neutralised."""
    import csv
    import io
    import unicodedata

    from openpyxl import load_workbook
    from pypdf import PdfReader

    comment = '=HYPERLINK("http://x","bấm")'
    assert (
        rate_by_phone(client, served["ticket"], score="unsatisfied", reasons=["Chờ lâu"], comment=comment).status_code
        == 201
    )
    manager = bearer(staff_token(client, "manager"))
    query = "from=2026-11-18&to=2026-11-18"

    def download(kind: str) -> bytes:
        response = client.get(f"/dashboard/export.{kind}?{query}", headers=manager)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return response.data

    rows = list(csv.reader(io.StringIO(download("csv").decode("utf-8-sig"))))
    at = rows.index(["Công dân nói gì"])
    assert rows[at + 1 : at + 3] == [["Lý do", "Lượt đánh giá"], ["Chờ lâu", "1"]]
    last = rows[-1]
    assert last[1:] == [
        served["ticket"]["display_number"],
        "Quầy 1",
        "clerk1",
        "Không hài lòng",
        "Chờ lâu",
        "'" + comment,
    ]
    book = load_workbook(io.BytesIO(download("xlsx")))
    sheet = book["Công dân nói gì"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][:2] == ["Chờ lâu", 1] and values[-1][-1] == "'" + comment
    assert all(not str(c.value).startswith("=") for row in sheet.iter_rows() for c in row if c.value)
    reader = PdfReader(io.BytesIO(download("pdf")))
    text = " ".join(" ".join(unicodedata.normalize("NFC", page.extract_text()).split()) for page in reader.pages)
    assert "Công dân nói gì" in text and "Chờ lâu: 1" in text and "HYPERLINK" in text


def test_a_negative_rating_reaches_the_managers_room_only(app, socketio, client, world, served):
    """`rating.negative` (reasons, comment, clerk) goes to the managers of the site; the hall (board), the
    clerk's console and the citizen's phone get the plain `ticket.updated` and never the comment."""
    from tests.support.world import PASSWORD

    def session_client(username: str):
        http = app.test_client()
        assert http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}).status_code == 200
        return socketio.test_client(app, flask_test_client=http)

    manager, clerk = session_client("manager"), session_client("clerk1")
    board = socketio.test_client(app, auth={"token": world.board_token})
    phone = socketio.test_client(app, auth={"tracking_token": served["ticket"]["tracking_token"]})
    listeners = (manager, clerk, board, phone)
    try:
        for listener in listeners:
            assert listener.is_connected()
            listener.get_received()
        assert (
            rate_by_phone(
                client, served["ticket"], score="unsatisfied", reasons=["Chờ lâu"], comment="bí mật"
            ).status_code
            == 201
        )
        got = {id(c): c.get_received() for c in listeners}
        feed = [m["args"][0] for m in got[id(manager)] if m["name"] == "rating.negative"]
        assert len(feed) == 1
        assert (feed[0]["ticket_id"], feed[0]["reasons"], feed[0]["comment"], feed[0]["clerk"]) == (
            served["ticket"]["id"],
            ["Chờ lâu"],
            "bí mật",
            "clerk1",
        )
        for other in (clerk, board, phone):
            assert "rating.negative" not in [m["name"] for m in got[id(other)]]
            assert "bí mật" not in repr(got[id(other)])
        assert "ticket.updated" in [m["name"] for m in got[id(board)]]
    finally:
        for listener in listeners:
            if listener.is_connected():
                listener.disconnect()
