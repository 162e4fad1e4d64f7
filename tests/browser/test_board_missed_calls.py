"""A board announces the calls made while it was away (issue 19, item 4): the snapshot it draws on reconnecting
holds the recent calls, and those it has not played yet are announced, oldest first; played ones never again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.test_board import SHOWN, LiveApi, open_board, wait_played

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Cable:
    """The board's Socket.IO websocket, through Playwright: `unplug()` drops it and refuses new ones."""

    def __init__(self, page: Page) -> None:
        self.plugged = True
        self.routes: list[WebSocketRoute] = []
        page.route_web_socket(re.compile(r"/socket\.io/"), self._route)
        page.route(re.compile(r"/socket\.io/.*transport=polling"), self._polling)

    def _route(self, ws: WebSocketRoute) -> None:
        if not self.plugged:
            ws.close()
            return
        self.routes.append(ws)
        ws.connect_to_server()

    def _polling(self, route) -> None:
        if self.plugged:
            route.continue_()
        else:
            route.abort()

    def unplug(self) -> None:
        self.plugged = False
        for ws in self.routes:
            ws.close()
        self.routes.clear()

    def plug(self) -> None:
        self.plugged = True


def test_calls_made_while_the_board_was_away_are_announced_once_it_is_back(page: Page, live_world):
    server, world = live_world
    cable = Cable(page)
    open_board(page, server, world.board_token)
    api = LiveApi(server.url)
    for _ in range(3):
        api.issue(world.kiosk_token, "TP-A")
    api.call("clerk1", world.counters["c1"])
    (heard,) = wait_played(page, 1)

    cable.unplug()
    expect(page.locator("#offline")).to_be_visible(timeout=SHOWN)
    api.call("clerk2", world.counters["c2"])  # two calls nobody on this board heard
    api.act("clerk1", world.counters["c1"], "start")
    api.call("clerk1", world.counters["c1"])
    cable.plug()

    page.wait_for_function("window.__luotBoard.snapshots >= 2", timeout=SHOWN)
    first, second, third = wait_played(page, 3)
    assert first["call_id"] == heard["call_id"]  # the call played before is not played again
    assert second["call_id"] != third["call_id"] and heard["call_id"] not in (second["call_id"], third["call_id"])
    assert second["ended"] <= third["started"]
    expect(page.locator("#latest .fill-number")).to_have_text("1003")
    assert page.evaluate("window.__luotAudioLog.length + window.__luotBoard.pending()") == 3
