"""Blocking work run on a native thread under eventlet or gevent, so the hub keeps serving (one switch for all).

Under eventlet the work goes to `eventlet.tpool`, under gevent to the hub's thread pool; under threading (tests,
CLI commands) it runs in the calling thread. Pure-Python work still holds the GIL meanwhile: it suits work that
waits in C (a password hash, a printer's socket, a PDF's render in C, a file's I/O), and long Python builds belong
in a child process (`server.stats.export_worker`). Errors are the work's own, raised in the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")


def off_hub(async_mode: str, work: Callable[..., Result], *args: Any) -> Result:
    """`work(*args)` on a native thread when `async_mode` is "eventlet" or "gevent", else in this thread."""
    if async_mode == "eventlet":
        from eventlet import tpool

        return tpool.execute(work, *args)
    if async_mode == "gevent":
        import gevent

        return gevent.get_hub().threadpool.apply(work, args)
    return work(*args)
