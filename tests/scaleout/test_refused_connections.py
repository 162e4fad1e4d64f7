"""A board that (re)connects while PostgreSQL or Redis is unreachable is refused at once (CONNECT_ERROR
`storage_unavailable`), so it tries again, and is let in with a snapshot once the engine is back (issue 19, item 3).

Before: the connect handler raised, the server sent neither CONNECT nor CONNECT_ERROR, and the client waited for
good on an open websocket.
"""

from __future__ import annotations

import time

import pytest
import socketio

from tests.scaleout.conftest import PG_PORT, REDIS_PORT, pg_url, redis_url
from tests.support.live_board import LiveBoard, wait_until

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]


@pytest.mark.parametrize("engine", ["postgresql", "redis"])
def test_a_board_connecting_during_an_outage_is_refused_then_let_in(engine, scale_world, start_server, tcp_proxy):
    world = scale_world.world
    name = scale_world.database_url.rsplit("/", 1)[1]
    proxy = tcp_proxy(PG_PORT if engine == "postgresql" else REDIS_PORT)
    if engine == "postgresql":
        server = start_server(pg_url(name, proxy.port), redis_url(scale_world.redis_number))
    else:
        server = start_server(scale_world.database_url, redis_url(scale_world.redis_number, proxy.port))
    LiveBoard(server.url, world.board_token).close()  # the server works; now take the engine away

    proxy.cut()
    board = LiveBoard(server.url, world.board_token, connect=False)
    started = time.monotonic()
    with pytest.raises(socketio.exceptions.ConnectionError):
        board.connect(wait_timeout=10)
    refused_after = time.monotonic() - started
    assert board.heard.refusals and board.heard.refusals[0]["message"] == "storage_unavailable"
    assert refused_after < 8, refused_after  # an answer, not a wait that runs out

    proxy.restore()
    deadline = time.monotonic() + 20
    while not board.client.connected:  # what live.js does after a refusal: try again after a pause
        assert time.monotonic() < deadline, "the board was never let in after the engine came back"
        try:
            board.connect(wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            time.sleep(0.5)  # live.js's back-off between attempts
    try:
        wait_until(lambda: board.heard.snapshots == 1, 10, "the snapshot after the engine came back")
    finally:
        board.close()
