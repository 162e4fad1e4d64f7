"""Password hashing off the eventlet hub, a bounded number at once (issue 14).

argon2 takes ~50-100 ms of CPU by design. Run on the eventlet (or gevent) hub it stalls every request and
socket of the process for that long, once per sign-in, unknown usernames included. `PasswordWork.run` hands
the hash to a real OS thread (eventlet.tpool / gevent's thread pool; argon2-cffi releases the GIL) and lets
at most `max_concurrent` run at once; the others wait on a green semaphore, without blocking the hub.

`luot serve` configures the process once (`configure(async_mode, max_concurrent)` from create_app); until
then (CLI, tests in threading mode) the hash runs in the calling thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from server.off_hub import off_hub

Result = TypeVar("Result")


class PasswordWork:
    """Runs password hashes on real threads, at most `max_concurrent` at once."""

    def __init__(self, async_mode: str = "threading", max_concurrent: int = 2) -> None:
        self.async_mode = async_mode
        self.max_concurrent = max(1, max_concurrent)
        # Created after eventlet.monkey_patch() in `luot serve`: a green semaphore there, a real one otherwise.
        self._slots = threading.BoundedSemaphore(self.max_concurrent)

    def run(self, function: Callable[..., Result], *args: Any) -> Result:
        with self._slots:
            return off_hub(self.async_mode, function, *args)


_work = PasswordWork()


def configure(async_mode: str, max_concurrent: int = 2) -> None:
    """Sets how this process hashes passwords (called by create_app)."""
    global _work
    if (_work.async_mode, _work.max_concurrent) != (async_mode, max(1, max_concurrent)):
        _work = PasswordWork(async_mode, max_concurrent)


def run(function: Callable[..., Result], *args: Any) -> Result:
    return _work.run(function, *args)
