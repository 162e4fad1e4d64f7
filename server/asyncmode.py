"""The server's concurrency model: eventlet (default), gevent or threading.

Patching must happen before anything else imports socket or threading, so `luot serve` calls
`prepare()` first thing. eventlet warns that it is deprecated at import (an EventletDeprecationWarning of nine
lines on stderr); that one warning is filtered by `quiet_eventlet()`, which `prepare()` and `create_app` (Socket.IO
imports eventlet when it builds its server: every CLI command that opens the app) call before eventlet is
imported. No other warning is hidden.

psycopg 3 waits for PostgreSQL in C (`wait_c`) unless it sees gevent's patched `select`; it has no eventlet
support of its own, so under eventlet each query would block the hub (every websocket of the process) for
its whole length. Its `PSYCOPG_WAIT_FUNC` switch (psycopg/waiting.py, read when psycopg is first imported)
picks the pure-Python `wait_select`, which calls eventlet's green `select`: the hub waits, other green
threads run, and there is no 1024-descriptor limit (the hub polls with epoll).
"""

from __future__ import annotations

import os
import warnings

MODES = ("eventlet", "gevent", "threading")
_prepared: str | None = None


def quiet_eventlet() -> None:
    """Ignores eventlet's deprecation warning at its import (before eventlet is imported, its class cannot be named:
    the filter matches the warning's text, which only that warning has)."""
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated", category=Warning)


def prepare(mode: str | None = None) -> str:
    """Monkey-patch the standard library for `mode` (once per process) and return the mode."""
    global _prepared
    mode = mode or os.environ.get("LUOT_ASYNC_MODE", "eventlet")
    if mode not in MODES:
        raise SystemExit(f"LUOT_ASYNC_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    if _prepared is not None:
        return _prepared
    if mode == "eventlet":
        quiet_eventlet()
        import eventlet

        from server import fair_hub

        fair_hub.install()  # first ready, first served (see server/fair_hub.py)
        eventlet.monkey_patch()
        os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()  # psycopg (3.1.14+) notices the patched select and waits cooperatively by itself
    _prepared = mode
    return mode
