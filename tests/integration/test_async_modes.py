"""Every async mode runs the real server: a kiosk issues, a clerk calls, a board hears `ticket.called`."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.process import ServerProcess
from tests.integration._live import Api, Listener
from tests.support.world import build_world

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
def test_each_async_mode_delivers_a_call_to_a_board(tmp_path: Path, mode: str) -> None:
    server = ServerProcess(tmp_path / "instance", async_mode=mode)
    world = server.prepare(build_world)
    server.start()
    api = Api(server.url)
    board = None
    try:
        board = Listener(server.url, {"token": world.board_token})
        assert board.next("snapshot")["site"]["code"] == "HN"
        ticket = api.ok("/tickets", {"service": "TP-A"}, token=world.kiosk_token)
        clerk = api.login("clerk1")
        counter = world.counters["c1"]
        api.ok(f"/counters/{counter}/open", token=clerk)
        called = api.ok(f"/counters/{counter}/next", token=clerk)
        assert called["ticket"]["id"] == ticket["id"]
        event = board.next("ticket.called")
        assert event["display_number"] == ticket["display_number"]
        assert event["counter"]["number"] == 1
    finally:
        if board is not None:
            board.close()
        api.close()
        server.stop()
