"""Direct websocket writes (server/direct_send.py) on stand-ins for engineio's Socket and eventlet's websocket:
what is written, what goes through the writer's queue, and that the order on a connection never changes."""

from __future__ import annotations

from typing import Any

import pytest
from engineio import packet as eio_packet
from greenlet import greenlet

from server import direct_send


class Lock:
    """eventlet's Semaphore as far as direct_send looks at it."""

    def __init__(self) -> None:
        self.counter, self._waiters = 1, []

    def acquire(self, blocking: bool = True) -> bool:
        assert self.counter > 0 and not self._waiters, "would have switched greenlets"
        self.counter -= 1
        return True

    def release(self) -> None:
        self.counter += 1


class Fd:
    """A non-blocking socket that takes `room` bytes (all when None) per send, or fails with `error`."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.sends = 0
        self.room: int | None = None
        self.error: OSError | None = None

    def send(self, data: bytes) -> int:
        self.sends += 1
        if self.error is not None:
            raise self.error
        taken = len(data) if self.room is None else min(self.room, len(data))
        if not taken:
            raise BlockingIOError()
        self.received += data[:taken]
        return taken

    def gettimeout(self) -> float:
        return 0.0


class GreenSocket:
    def __init__(self, fd: Fd) -> None:
        self.fd = fd

    def sendall(self, data: bytes) -> None:
        self.fd.received += data


class WebSocket:
    client = False
    websocket_closed = False

    def __init__(self, extensions: dict | None = None) -> None:
        self.fd = Fd()
        self.socket = GreenSocket(self.fd)
        self._sendlock = Lock()
        self.extensions = extensions or {}
        self.packed = 0

    def _pack_message(self, message: str) -> bytes:
        self.packed += 1
        return b"<" + message.encode() + b">"


class Queue:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.waiting = 1  # the writer, blocked on its empty queue

    def qsize(self) -> int:
        return len(self.items)

    def getting(self) -> int:
        return self.waiting

    def put(self, item: Any) -> None:
        self.items.append(item)


class Socket:
    """engineio's Socket as far as direct_send uses it; `send` is the queued path (the writer's)."""

    def __init__(self) -> None:
        self.queue = Queue()
        self.connected = False
        self.upgraded = True
        self.upgrading = False
        self.closing = False
        self.seen_ws: Any = "unset"

    def send(self, pkt: Any) -> None:
        self.queue.put(pkt)

    def _websocket_handler(self, ws: Any) -> list:
        self.seen_ws = self._luot_ws
        return []

    def check_ping_timeout(self) -> bool:
        return True


direct_send._patch(Socket)


@pytest.fixture(autouse=True)
def installed(monkeypatch: pytest.MonkeyPatch) -> list:
    """corked() acts; spawned greenlets are collected, to be run by the test."""
    spawned: list = []
    monkeypatch.setattr(direct_send, "_installed", True)
    monkeypatch.setattr(direct_send, "_spawn", spawned.append)
    direct_send._pending.clear()
    return spawned


def message(text: str) -> eio_packet.Packet:
    return eio_packet.Packet(eio_packet.MESSAGE, data=text)


def client(extensions: dict | None = None) -> tuple[Socket, WebSocket]:
    socket, ws = Socket(), WebSocket(extensions)
    socket._luot_ws = ws
    return socket, ws


def test_only_plain_websockets_opened_as_such_are_written_directly() -> None:
    socket, ws = Socket(), WebSocket()
    socket._websocket_handler(ws)
    assert socket.seen_ws is ws and socket._luot_ws is None  # only while the connection lives
    deflating = Socket()
    deflating._websocket_handler(WebSocket({"permessage-deflate": {}}))
    assert deflating.seen_ws is None
    upgraded = Socket()
    upgraded.connected = True  # long-polling first, then the upgrade
    upgraded._websocket_handler(WebSocket())
    assert upgraded.seen_ws is None


def test_an_idle_client_gets_the_frame_at_once() -> None:
    socket, ws = client()
    socket.send(message('2["ticket.called"]'))
    assert bytes(ws.fd.received) == b'<42["ticket.called"]>'
    assert socket.queue.items == [] and ws._sendlock.counter == 1


def test_behind_a_queued_packet_a_message_waits_its_turn() -> None:
    socket, ws = client()
    socket.queue.put("earlier")
    socket.send(later := message("2[]"))
    assert socket.queue.items == ["earlier", later] and ws.fd.sends == 0


@pytest.mark.parametrize("busy", ["writer sending", "lock waiters", "writer not waiting", "closing"])
def test_a_busy_or_closing_connection_keeps_the_queue(busy: str) -> None:
    socket, ws = client()
    if busy == "writer sending":
        ws._sendlock.counter = 0
    elif busy == "lock waiters":
        ws._sendlock._waiters.append("writer")
    elif busy == "writer not waiting":
        socket.queue.waiting = 0
    else:
        socket.closing = True
    socket.send(pkt := message("2[]"))
    assert socket.queue.items == [pkt] and ws.fd.sends == 0


def test_pings_keep_going_through_the_writer() -> None:
    socket, ws = client()
    socket.send(ping := eio_packet.Packet(eio_packet.PING))
    assert socket.queue.items == [ping] and ws.fd.sends == 0


def test_a_corked_block_leaves_in_one_write_per_client() -> None:
    (one, ws1), (two, ws2) = client(), client()
    first, second = message("2[1]"), message("2[2]")
    with direct_send.corked():
        for pkt in (first, second):
            one.send(pkt)
            two.send(pkt)
        assert ws1.fd.sends == ws2.fd.sends == 0
    assert bytes(ws1.fd.received) == bytes(ws2.fd.received) == b"<42[1]><42[2]>"
    assert ws1.fd.sends == ws2.fd.sends == 1
    assert ws1.packed + ws2.packed == 2, "each packet is framed once for every client"


def test_a_ping_sent_during_a_corked_block_stays_behind_its_messages() -> None:
    socket, ws = client()
    with direct_send.corked():
        socket.send(message("2[1]"))
        socket.send(eio_packet.Packet(eio_packet.PING))
    assert bytes(ws.fd.received) == b"<42[1]><2>" and socket.queue.items == []


def test_a_partial_write_holds_the_lock_until_the_rest_is_out(installed: list) -> None:
    socket, ws = client()
    ws.fd.room = 3
    socket.send(message("2[1]"))
    assert bytes(ws.fd.received) == b"<42" and ws._sendlock.counter == 0
    socket.send(after := message("2[2]"))
    assert socket.queue.items == [after], "the writer takes it, behind the lock"
    (finish,) = installed
    finish()
    assert bytes(ws.fd.received) == b"<42[1]>" and ws._sendlock.counter == 1


def test_a_full_socket_buffer_hands_the_packets_to_the_writer_in_order() -> None:
    socket, ws = client()
    ws.fd.room = 0
    first, second = message("2[1]"), message("2[2]")
    with direct_send.corked():
        socket.send(first)
        socket.send(second)
    assert socket.queue.items == [first, second] and ws._sendlock.counter == 1


def test_a_failed_connection_is_left_to_the_writer_to_close() -> None:
    socket, ws = client()
    ws.fd.error = ConnectionResetError()
    socket.send(pkt := message("2[1]"))
    assert socket.queue.items == [pkt]


def test_a_writer_busy_by_the_end_of_the_block_gets_the_packets_behind_its_own() -> None:
    socket, ws = client()
    with direct_send.corked():
        socket.send(first := message("2[1]"))
        socket.queue.put("closing")  # engineio itself, while the block waited on the database
    assert socket.queue.items == ["closing", first] and ws.fd.sends == 0


def test_without_eventlet_nothing_is_patched_and_corked_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    class Threading:
        async_mode = "threading"

    monkeypatch.setattr(direct_send, "_installed", False)
    assert direct_send.install(Threading()) is False
    socket, ws = client()
    with direct_send.corked():
        socket.send(message("2[1]"))
    assert ws.fd.sends == 1, "sent at once: no block gathered it"


def test_the_server_declines_permessage_deflate_without_touching_the_driver_table() -> None:
    class Negotiating:
        def _negotiate_permessage_deflate(self, extensions: dict) -> dict:
            return {"server_no_context_takeover": False}

    table = {"websocket": Negotiating}

    class Server:
        _async = table

    server = Server()
    direct_send._decline_deflate(server)
    assert server._async["websocket"]()._negotiate_permessage_deflate({"permessage-deflate": [{}]}) is None
    assert table["websocket"] is Negotiating


def test_while_a_block_waits_another_greenlet_writes_at_once_except_behind_gathered_packets() -> None:
    (gathering, ws1), (other, ws2) = client(), client()
    with direct_send.corked():
        gathering.send(message("2[1]"))
        greenlet(lambda: (other.send(message("2[x]")), gathering.send(message("2[2]")))).switch()  # the DB wait
        assert bytes(ws2.fd.received) == b"<42[x]>" and ws1.fd.sends == 0
    assert bytes(ws1.fd.received) == b"<42[1]><42[2]>" and ws1.fd.sends == 1
