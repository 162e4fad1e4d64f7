"""The rate limiter's in-process store: `limits`' memory storage without a new thread per request.

`limits.storage.MemoryStorage` (limits 5.x) frees expired counters on a `threading.Timer` of 10 ms, and starts a
new timer on any hit that finds the last one ended. Under eventlet and gevent a thread is a greenlet, and
`Thread.start()` waits for it to run: the request that starts it yields to the event loop and queues behind
every other ready request. With 36 clients at once (issue 13's mix) that was about 100 yields a second, each one
a whole extra round of the queue for an issue or a call next, measured with a greenlet trace.

`LobbyMemoryStorage` keeps the library's counters and its checks, and changes only when expired entries are
freed: inline, at most once a second, by the hit that finds the second over. An expired counter is never
counted either way, because `MemoryStorage.get` drops it when it is read; the sweep only returns memory for
keys nobody hits again. Its scheme is `luot-memory://`.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

SWEEP_INTERVAL = 1.0  # seconds between two sweeps of expired counters and moving-window entries


class LobbyMemoryStorage(MemoryStorage):
    """`MemoryStorage` whose expiry sweep runs inline at most every `SWEEP_INTERVAL` seconds, never in a thread."""

    STORAGE_SCHEME = ["luot-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL
        self.sweeps = 0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the library calls this name (name-mangled)
        """Called by `MemoryStorage` on every hit (`incr`, `decr`, `acquire_entry`); sweeps once a second."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        self.sweeps += 1
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
