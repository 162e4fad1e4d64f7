"""The server's concurrency model: eventlet (default), gevent or threading.

Patching must happen before anything else imports socket or threading, so `luot serve` calls
`prepare()` first thing. eventlet warns that it is deprecated at import; that one warning is
filtered here, and only here.
"""

from __future__ import annotations

import os
import warnings

MODES = ("eventlet", "gevent", "threading")
_prepared: str | None = None


def prepare(mode: str | None = None) -> str:
    """Monkey-patch the standard library for `mode` (once per process) and return the mode."""
    global _prepared
    mode = mode or os.environ.get("LUOT_ASYNC_MODE", "eventlet")
    if mode not in MODES:
        raise SystemExit(f"LUOT_ASYNC_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    if _prepared is not None:
        return _prepared
    if mode == "eventlet":
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    _prepared = mode
    return mode
