"""The citizen's rating tablet in real Chromium against a real server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlmodel import select

from server.db import Database
from server.models import Rating
from server.process import ServerProcess
from tests.support.world import PASSWORD, World, build_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Hall:
    """The API calls around the tablet: a kiosk issues, clerks serve (Bearer tokens)."""

    def __init__(self, server: ServerProcess, world: World) -> None:
        self.server = server
        self.world = world
        self.http = requests.Session()
        self.tokens: dict[str, str] = {}

    def post(self, path: str, token: str, body: dict[str, Any] | None = None, expect: int = 200) -> dict[str, Any]:
        response = self.http.post(
            f"{self.server.url}{path}", json=body or {}, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code == expect, response.text
        return response.json()

    def clerk(self, username: str) -> str:
        if username not in self.tokens:
            self.tokens[username] = self.post("/api/v1/auth/token", "", {"username": username, "password": PASSWORD})[
                "token"
            ]
        return self.tokens[username]

    def serve(self, username: str, counter: str, service: str = "TP-A") -> dict[str, Any]:
        """Issue a ticket, open the counter if needed, call it and finish it."""
        token = self.clerk(username)
        counter_id = self.world.counters[counter]
        ticket = self.post("/api/v1/tickets", self.world.kiosk_token, {"service": service}, expect=201)
        response = self.http.post(
            f"{self.server.url}/api/v1/counters/{counter_id}/open",
            json={},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        called = self.post(f"/api/v1/counters/{counter_id}/next", token)
        assert called["ticket"]["id"] == ticket["id"]
        self.post(f"/api/v1/counters/{counter_id}/finish", token)
        return ticket


def tablet_page(page: Page, server: ServerProcess, token: str) -> Page:
    page.goto(f"{server.url}/counter/rating?token={token}")
    expect(page.locator("#screen-idle")).to_be_visible()
    return page


def stored_rating(server: ServerProcess, ticket_id: int) -> Rating | None:
    db = Database(server.settings())
    try:
        with db.read() as session:
            return session.exec(select(Rating).where(Rating.ticket_id == ticket_id)).first()
    finally:
        db.dispose()


@pytest.fixture
def hall(live_world) -> Iterator[Hall]:
    server, world = live_world
    hall = Hall(server, world)
    yield hall
    hall.http.close()


def test_the_tablet_waits_with_its_counters_name_and_offers_the_rating_after_a_finish_there(page: Page, hall):
    tablet = tablet_page(page, hall.server, hall.world.rating_token)
    expect(tablet.locator("#counter-name")).to_have_text("Quầy 1")
    expect(tablet.locator("#screen-idle")).to_contain_text("Xin kính chào!")
    expect(tablet.locator("#connection")).to_be_hidden()

    elsewhere = hall.serve("clerk2", "c2")  # another counter's finish is not for this tablet
    ours = hall.serve("clerk1", "c1")
    expect(tablet.locator("#screen-choices")).to_be_visible()
    expect(tablet.locator("#ticket-number")).to_have_text(f"Số {ours['display_number']}")
    assert elsewhere["display_number"] != ours["display_number"]
    choices = tablet.locator("#choices button")
    expect(choices).to_have_text(["Rất hài lòng", "Hài lòng", "Không hài lòng"])
    box = choices.first.bounding_box()
    assert box is not None and box["height"] >= 150 and box["width"] >= 200  # big touch targets

    tablet.fill("#comment", "Chờ hơi lâu")
    choices.filter(has_text="Không hài lòng").click()
    expect(tablet.locator("#reason-comment")).to_have_value("Chờ hơi lâu")  # the reasons screen keeps it
    tablet.locator("#send-reasons").click()
    expect(tablet.locator("#screen-thanks")).to_be_visible()
    expect(tablet.locator("#screen-idle")).to_be_visible(timeout=15_000)
    rating = stored_rating(hall.server, ours["id"])
    assert rating is not None
    assert (rating.score, rating.comment, rating.source) == ("unsatisfied", "Chờ hơi lâu", "tablet")
    assert stored_rating(hall.server, elsewhere["id"]) is None


def test_a_second_rating_of_the_same_ticket_is_refused_and_the_tablet_says_it_was_rated(page: Page, hall):
    tablet = tablet_page(page, hall.server, hall.world.rating_token)
    ticket = hall.serve("clerk1", "c1")
    expect(tablet.locator("#screen-choices")).to_be_visible()
    # The citizen rated on their phone (tracking page) before touching the tablet.
    hall.post(f"/api/v1/tickets/{ticket['tracking_token']}/rating", "", {"score": "satisfied"}, expect=201)

    tablet.locator("#choices button[data-score='very_satisfied']").click()
    expect(tablet.locator("#thanks-text")).to_have_text("Số này đã đánh giá rồi. Xin cảm ơn ông/bà!")
    expect(tablet.locator("#screen-idle")).to_be_visible(timeout=15_000)
    rating = stored_rating(hall.server, ticket["id"])
    assert rating is not None and (rating.score, rating.source) == ("satisfied", "phone")


def test_a_tablet_that_connects_just_after_the_finish_still_offers_the_rating(page: Page, hall):
    ticket = hall.serve("clerk1", "c1")
    tablet = page
    tablet.goto(f"{hall.server.url}/counter/rating?token={hall.world.rating_token}")
    expect(tablet.locator("#screen-choices")).to_be_visible()
    expect(tablet.locator("#ticket-number")).to_have_text(f"Số {ticket['display_number']}")
    tablet.locator("#choices button[data-score='satisfied']").click()
    expect(tablet.locator("#screen-thanks")).to_be_visible()
    rating = stored_rating(hall.server, ticket["id"])
    assert rating is not None and rating.counter_id == hall.world.counters["c1"]


def test_a_site_that_adds_neutral_to_its_scale_shows_four_choices(browser, tmp_path: Path):
    server = ServerProcess(tmp_path / "instance")
    world = server.prepare(
        lambda db: build_world(db, rating_scale=["very_satisfied", "satisfied", "neutral", "unsatisfied"])
    )
    server.start()
    context = browser.new_context(locale="vi-VN", has_touch=True)
    hall = Hall(server, world)  # type: ignore[arg-type]
    try:
        tablet = tablet_page(context.new_page(), server, world.rating_token)  # type: ignore[attr-defined]
        ticket = hall.serve("clerk1", "c1")
        choices = tablet.locator("#choices button")
        expect(choices).to_have_text(["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng"])
        choices.filter(has_text="Bình thường").tap()
        expect(tablet.locator("#screen-thanks")).to_be_visible()
        rating = stored_rating(server, ticket["id"])
        assert rating is not None and rating.score == "neutral"
    finally:
        hall.http.close()
        context.close()
        server.stop()
