"""eventlet only: a message for an idle websocket client is written to its socket at once.

python-engineio hands every packet to a writer greenlet per client through a queue: a queue put, a timer,
two greenlet switches and a receive timeout for each client and each message. For one event to 2,000 boards
that bookkeeping cost several times the send itself (issue 7: ~60 µs a client and message, the send syscall
~10 µs of it), and the last board heard of a call only after every writer had had its turn.

When a client's writer is idle — waiting on its empty queue, no frame half-written — the emitting greenlet
writes the very frame the writer would have written, with one non-blocking send that never yields. Whatever
is queued, being written, or would block goes through the writer as before, so the order on each connection
is the order of the sends. Inside `corked()` the frames for a client are gathered and leave in one write at
the end of the block: one syscall and one wake-up of the client per transaction instead of one per message.

Only websocket connections opened as such qualify (not upgrades from long-polling), and only MESSAGE packets
start a direct write: pings keep flowing through the queue, whose 45 s wait is the writer's liveness check.
permessage-deflate is declined (browsers offer it): compressing each small event once per client cost ~13 µs
and ~90 KiB of zlib state per connection, and its per-connection compressor would have to see frames in the
order they leave.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

_FRAME = "_luot_frame"  # the websocket frame of an Engine.IO packet, cached on it (the same for every client)
_pending: dict[Any, list[Any]] = {}  # engineio socket → its packets of a corked block, in order
_corked: dict[Any, int] = {}  # greenlet → depth of its corked blocks
_installed = False


def install(eio_server: Any) -> bool:
    """Patches python-engineio's Socket for direct writes; False (nothing changed) outside eventlet."""
    global _installed
    if getattr(eio_server, "async_mode", None) != "eventlet":
        return False
    _decline_deflate(eio_server)
    from engineio import socket as eio_socket

    cls = eio_socket.Socket
    if not getattr(cls, "_luot_direct", False):
        if not all(callable(getattr(cls, name, None)) for name in ("send", "_websocket_handler", "check_ping_timeout")):
            log.warning("python-engineio changed: direct websocket writes disabled")
            return False
        _patch(cls)
    _installed = True
    return True


def _patch(cls: Any) -> None:
    from engineio.packet import MESSAGE
    from greenlet import getcurrent

    queued_send, websocket_handler = cls.send, cls._websocket_handler

    def _websocket_handler(self: Any, ws: Any) -> Any:
        fresh = not self.connected  # opened as a websocket, not upgraded from long-polling
        self._luot_ws = ws if fresh and _plain(ws) else None
        try:
            return websocket_handler(self, ws)
        finally:
            self._luot_ws = None

    def send(self: Any, pkt: Any) -> None:
        ws = getattr(self, "_luot_ws", None)
        pending = _pending.get(self) if ws is not None else None
        if pending is None and (ws is None or pkt.packet_type != MESSAGE or not _idle(self, ws)):
            queued_send(self, pkt)
        elif not self.check_ping_timeout():
            return
        elif pending is not None:
            pending.append(pkt)  # behind the corked packets, whatever its type
        elif _corked and getcurrent() in _corked:
            _pending[self] = [pkt]
        else:
            _write(self, ws, [pkt])

    cls._websocket_handler, cls.send, cls._luot_direct = _websocket_handler, send, True


def _decline_deflate(eio_server: Any) -> None:
    """This server's websockets answer without permessage-deflate (a copy of the driver table, not the module's)."""
    websocket = eio_server._async.get("websocket")
    if websocket is None or not hasattr(websocket, "_negotiate_permessage_deflate"):
        return

    class PlainWebSocket(websocket):  # type: ignore[misc, valid-type]
        def _negotiate_permessage_deflate(self, extensions: Any) -> None:
            return None

    eio_server._async = {**eio_server._async, "websocket": PlainWebSocket}


@contextmanager
def corked() -> Iterator[None]:
    """The packets this greenlet sends inside the block to a direct client leave together when the block ends.

    Another greenlet's packet for a client with gathered packets joins them (order); to any other client it
    is written at once, even while this block waits on the database.
    """
    if not _installed:
        yield
        return
    from greenlet import getcurrent

    me = getcurrent()
    _corked[me] = _corked.get(me, 0) + 1
    try:
        yield
    finally:
        _corked[me] -= 1
        if not _corked[me]:
            del _corked[me]
            flush()


def flush() -> None:
    """Writes what corked blocks gathered (another greenlet's unfinished block too: sooner, in the same order)."""
    gathered = list(_pending.items())
    _pending.clear()
    for socket, packets in gathered:
        ws = getattr(socket, "_luot_ws", None)
        if ws is not None and _idle(socket, ws):
            _write(socket, ws, packets)
        else:  # closed, or the writer got busy meanwhile: the packets go behind what it has
            _enqueue(socket, packets)


def _plain(ws: Any) -> bool:
    """An eventlet RFC 6455 server websocket on a non-blocking socket, without compression."""
    fd = getattr(getattr(ws, "socket", None), "fd", None)
    lock = getattr(ws, "_sendlock", None)
    return (
        not getattr(ws, "client", True)
        and "permessage-deflate" not in (getattr(ws, "extensions", None) or {})
        and hasattr(ws, "_pack_message")
        and hasattr(lock, "counter")
        and hasattr(lock, "_waiters")
        and fd is not None
        and fd.gettimeout() == 0.0
    )


def _idle(socket: Any, ws: Any) -> bool:
    """The writer waits on an empty queue and nothing is being written: a frame written now overtakes nothing.

    The send lock must be free without waiters: eventlet's acquire(blocking=False) would wait behind them.
    """
    queue, lock = socket.queue, ws._sendlock
    return (
        socket.upgraded
        and not socket.upgrading
        and not socket.closing
        and not ws.websocket_closed
        and not queue.qsize()
        and queue.getting() > 0
        and lock.counter > 0
        and not lock._waiters
    )


def _frame(ws: Any, pkt: Any) -> bytes:
    frame = pkt.__dict__.get(_FRAME)
    if frame is None:
        frame = ws._pack_message(pkt.encode())
        setattr(pkt, _FRAME, frame)
    return frame


def _write(socket: Any, ws: Any, packets: list[Any]) -> None:
    """One non-blocking send (the caller checked `_idle`, so taking the lock cannot switch greenlets).

    The rest of a partly written frame goes out before anything else (the lock is held until then); if nothing
    could be written, or the connection failed, the packets go to the writer, which waits or closes as before.
    """
    data = _frame(ws, packets[0]) if len(packets) == 1 else b"".join(_frame(ws, pkt) for pkt in packets)
    try:
        sent = ws.socket.fd.send(data)
    except OSError:  # BlockingIOError (buffer full) included
        sent = 0
    if sent == len(data):
        return
    if sent:
        ws._sendlock.acquire(blocking=False)
        _send_rest(ws, data[sent:])
    else:
        _enqueue(socket, packets)


def _send_rest(ws: Any, rest: bytes) -> None:
    """Finishes a frame in a greenlet of its own, then frees the lock the writer would wait on."""

    def finish() -> None:
        try:
            ws.socket.sendall(rest)
        except OSError:
            pass  # the connection is gone; its reader and writer close it
        finally:
            ws._sendlock.release()

    _spawn(finish)


def _spawn(function: Any) -> None:
    import eventlet

    eventlet.spawn_n(function)


def _enqueue(socket: Any, packets: list[Any]) -> None:
    for pkt in packets:
        socket.queue.put(pkt)
