"""Issue 14, items 2 and 16: one phone (or one address) cannot make the server build snapshots without end or
hold connections without end; a province admin's socket naming an unknown site is refused, not a crash."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from server.app import create_app, socketio_of
from server.domain.queueing import issue_ticket
from tests.support.world import build_world

WAIT = 10.0


def snapshots(client) -> int:
    return sum(1 for message in client.get_received() if message["name"] == "snapshot")


def wait_for_snapshot(client, timeout: float = WAIT) -> int:
    """Polls the test client (bounded) until at least one snapshot came; returns how many."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline and count == 0:
        count = snapshots(client)
        if count == 0:
            time.sleep(0.02)  # polling a queue filled by the server's background task, bounded by the deadline
    return count


@pytest.fixture
def phone_app(settings, clock):
    def make(**overrides):
        app = create_app(replace(settings, **overrides), clock=clock)
        app.config["TESTING"] = True
        made.append(app)
        return app, build_world(app.extensions["luot"].db)

    made: list = []
    yield make
    for app in made:
        app.extensions["luot"].db.dispose()


def tracking_token(app, world) -> str:
    return app.extensions["luot"].run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket.tracking_token


def test_a_snapshot_flood_from_one_socket_is_coalesced(phone_app):
    app, world = phone_app()
    hub = app.extensions["luot"].hub
    phone = socketio_of(app).test_client(app, auth={"tracking_token": tracking_token(app, world)})
    assert snapshots(phone) == 1  # the one on connect
    for _ in range(200):
        phone.emit("snapshot.request")
    assert snapshots(phone) == 0, "snapshots are built for requests less than a second after the last"
    assert hub.snapshots.coalesced == 200
    assert wait_for_snapshot(phone) == 1  # the one owed, once the second is over
    assert hub.snapshots.sent == 1
    phone.disconnect()


def test_a_board_asking_after_a_gap_gets_its_snapshot(phone_app):
    app, world = phone_app()
    board = socketio_of(app).test_client(app, auth={"token": world.board_token})
    board.get_received()
    board.emit("snapshot.request")
    assert wait_for_snapshot(board) == 1
    board.disconnect()


def test_connections_per_tracking_token_are_capped(phone_app):
    app, world = phone_app(socket_phones_per_token=2)
    socketio = socketio_of(app)
    token = tracking_token(app, world)
    first, second = (socketio.test_client(app, auth={"tracking_token": token}) for _ in range(2))
    assert first.is_connected() and second.is_connected()
    third = socketio.test_client(app, auth={"tracking_token": token})
    assert not third.is_connected()
    first.disconnect()
    again = socketio.test_client(app, auth={"tracking_token": token})
    assert again.is_connected()
    second.disconnect(), again.disconnect()


def test_phone_connections_per_address_are_capped_but_not_staff_or_devices(phone_app):
    app, world = phone_app(socket_phones_per_address=3)
    socketio = socketio_of(app)
    phones = [socketio.test_client(app, auth={"tracking_token": tracking_token(app, world)}) for _ in range(3)]
    assert all(p.is_connected() for p in phones)
    assert not socketio.test_client(app, auth={"tracking_token": tracking_token(app, world)}).is_connected()
    boards = [socketio.test_client(app, auth={"token": world.board_token}) for _ in range(5)]
    assert all(b.is_connected() for b in boards)
    for client in (*phones, *boards):
        client.disconnect()


@pytest.mark.parametrize("site_id", [999_999, "abc", 2**70, [1], True])
def test_a_province_admin_naming_an_unknown_site_is_refused(client, app, socketio, world, site_id):
    from tests.support.world import PASSWORD

    assert client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}).status_code == 200
    admin = socketio.test_client(app, auth={"site_id": site_id}, flask_test_client=client)
    assert not admin.is_connected()
    ok = socketio.test_client(app, auth={"site_id": world.site_id}, flask_test_client=client)
    assert ok.is_connected()
    ok.disconnect()
