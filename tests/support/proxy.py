"""A TCP proxy on 127.0.0.1 in front of PostgreSQL or Redis that a test can cut or hang, for fault drills.

- `cut()`: new connections refused, open ones reset (the engine's host went away).
- `hang()`: connections are accepted and kept, but no byte goes through either way (a hung engine: its host
  still acknowledges TCP, so only the application's own timeouts can notice).
- `cut_after(marker)`: the next statement containing `marker` reaches the engine, its answer is lost, and
  everything is cut (a COMMIT the engine carried out while its client heard nothing).
- `restore()`: forwarding again; data held during a hang is delivered.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class FaultProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._cut_after: bytes | None = None  # client bytes whose answer is lost: every connection is cut then
        self._answer_lost: set[socket.socket] = set()  # engine sockets whose next answer is never passed on
        self.cut_done = threading.Event()
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            threading.Thread(target=self._join, args=(client,), daemon=True).start()

    def _join(self, client: socket.socket) -> None:
        with self._lock:
            self._sockets.add(client)
        self._flowing.wait()  # a hung engine never gets as far as answering the start-up
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=3)
        except OSError:
            self._close(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._sockets.add(upstream)
        for source, sink, outbound in ((client, upstream, True), (upstream, client, False)):
            threading.Thread(target=self._pump, args=(source, sink, outbound), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, outbound: bool) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()
                if not outbound and source in self._answer_lost:  # the engine's answer to the marked statement
                    self.cut_done.set()  # before the cut: the client can only notice it (and answer) after
                    self.cut()
                    return
                marker = self._cut_after
                if outbound and marker is not None and marker in data:
                    self._cut_after = None
                    self._answer_lost.add(sink)  # before sending: the answer cannot overtake the mark
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(sink)

    def _close(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        with self._lock:
            self._sockets.discard(sock)

    def cut_after(self, marker: bytes) -> None:
        """The next client bytes containing `marker` (b"COMMIT") reach the engine, and when it answers, every
        connection is cut instead: the engine acted on the statement, the client never hears so. `cut_done` is
        set then; `restore()` lets connections in again."""
        self.cut_done.clear()
        self._cut_after = marker

    def hang(self) -> None:
        self._flowing.clear()

    def cut(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):  # shutdown wakes the blocked accept(); close() alone does not
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._flowing.set()  # pumps of reset sockets end

    def restore(self) -> None:
        if self._listener is None:
            self._listen()
        self._flowing.set()

    def close(self) -> None:
        self.cut()
