"""Sign-in throttling by client address and by username, with growing delays instead of a lockout (issue 14).

A hard lock after N failures lets anyone lock any account (clerk usernames are predictable), and answering
"locked" only for existing names tells which names exist. Instead, after `free` failures for a key (the
normalised username, or the client address, which gets `free * ADDRESS_FACTOR`), each further try must wait
1, 2, 4 … seconds after the last failure, at most `max_delay`. A try that comes too early is answered 429
with the seconds left, before any password is checked, the same for known and unknown names. A success
clears its username's failures. Failures older than `forget_after` seconds are forgotten.

In memory, per server process (times are time.monotonic() seconds); at most `max_keys` keys are kept.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

ADDRESS_FACTOR = 4  # one address (a NAT, a shared counter PC) may fail more often than one username


class SignInThrottle:
    def __init__(
        self,
        free: int = 5,
        max_delay: float = 60.0,
        forget_after: float = 900.0,
        max_keys: int = 100_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = max(1, free)
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.max_keys = max_keys
        self._now = now
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key → (count, last failure)

    def _keys(self, address: str, username: str) -> tuple[tuple[str, int], ...]:
        return ((f"user:{username}", self.free), (f"address:{address}", self.free * ADDRESS_FACTOR))

    def _delay(self, count: int, free: int) -> float:
        if count < free:
            return 0.0
        return min(self.max_delay, float(2 ** min(count - free, 30)))

    def retry_after(self, address: str, username: str) -> int:
        """Whole seconds to wait before this try may be checked; 0 = go ahead."""
        now = self._now()
        wait = 0.0
        with self._lock:
            for key, free in self._keys(address, username):
                entry = self._failures.get(key)
                if entry is None:
                    continue
                count, last = entry
                if now - last > self.forget_after:
                    del self._failures[key]
                    continue
                wait = max(wait, last + self._delay(count, free) - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, address: str, username: str) -> None:
        now = self._now()
        with self._lock:
            for key, _free in self._keys(address, username):
                count, last = self._failures.pop(key, (0, now))
                if now - last > self.forget_after:
                    count = 0
                self._failures[key] = (count + 1, now)  # moved to the end: the most recent
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, address: str, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username}", None)
