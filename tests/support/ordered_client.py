"""A python-socketio client whose handlers see messages in the order they arrived, as a browser's do.

python-engineio's client (4.x, `Client._receive_packet`) starts a new thread for every MESSAGE packet, so two
events that arrived in order can reach their handlers swapped when the threads are scheduled so. A browser
runs its handlers one at a time in arrival order, and the boards' rules (web/lib/live.js: apply the next seq,
resync on a gap) assume it; a test that checks that order with the library's client can fail on the client's
scheduling, not the server's (CI saw one swap of two events in tests/scaleout/test_event_order.py).

`OrderedClient` runs the handlers on the thread that reads the connection. A handler must therefore not wait
for an answer from the server (`call`), which that thread would have to read; `emit` is fine.
"""

from __future__ import annotations

from typing import Any

import engineio
import socketio


class _InOrderEngineIO(engineio.Client):
    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class OrderedClient(socketio.Client):
    """`socketio.Client` with handlers called in arrival order, on the connection's reading thread."""

    def _engineio_client_class(self) -> type[engineio.Client]:
        return _InOrderEngineIO
