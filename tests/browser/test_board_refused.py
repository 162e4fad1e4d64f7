"""live.js tries again after the server refused its connection (issue 19, item 3, the browser's side): a board
opened while the message queue (Redis) is cut is refused with CONNECT_ERROR, which socket.io-client never retries
by itself; once Redis is back the board connects, draws its snapshot and hears calls."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.process import ServerProcess
from tests.browser.test_board import SHOWN, LiveApi
from tests.scaleout.conftest import REDIS_PORT, redis_db, redis_url  # noqa: F401 (redis_db: a claimed database)
from tests.support.proxy import FaultProxy
from tests.support.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_board_refused_during_a_redis_outage_connects_once_redis_is_back(
    page: Page,
    tmp_path: Path,
    redis_db: int,  # noqa: F811 (the fixture imported above)
):
    proxy = FaultProxy(REDIS_PORT)
    server = ServerProcess(tmp_path / "instance", env={"LUOT_MESSAGE_QUEUE": redis_url(redis_db, proxy.port)})
    world = server.prepare(build_world)
    server.start()
    try:
        refusals: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: refusals.append(str(frame))))
        proxy.cut()
        page.goto(f"{server.url}/display/?token={world.board_token}")  # type: ignore[attr-defined]
        page.wait_for_function("window.__luotBoard !== undefined")
        expect(page.locator("#offline")).to_be_visible(timeout=SHOWN)
        deadline = time.monotonic() + 10
        while not any("storage_unavailable" in frame for frame in refusals):  # Playwright delivers frames on calls
            assert time.monotonic() < deadline, refusals[:5]
            page.wait_for_timeout(50)
        assert page.evaluate("window.__luotBoard.snapshots") == 0

        proxy.restore()
        page.wait_for_function("window.__luotBoard.snapshots > 0", timeout=SHOWN)
        expect(page.locator("#offline")).to_be_hidden()
        api = LiveApi(server.url)
        api.issue(world.kiosk_token, "TP-A")  # type: ignore[attr-defined]
        api.call("clerk1", world.counters["c1"])  # type: ignore[attr-defined]
        expect(page.locator("#latest .fill-number")).to_have_text("1001", timeout=SHOWN)
    finally:
        server.stop()
        proxy.close()
