"""What a supervisor can act on about writes (issue 19, item 7): when the last write succeeded, when and why the
last one failed, and a write probe. `/healthz` reports it; a disk that is full makes it say so."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class WriteHealth:
    """Outcomes of the runner's write transactions (thread- and greenlet-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last_ok: float | None = None  # time.time()
        self.last_failure: float | None = None
        self.failure = ""

    def ok(self) -> None:
        with self._lock:
            self.last_ok = time.time()

    def failed(self, error: BaseException) -> None:
        cause = error.__cause__ or error
        with self._lock:
            self.last_failure = time.time()
            self.failure = f"{cause.__class__.__name__}: {str(cause).splitlines()[0][:200] if str(cause) else ''}"

    @property
    def failing(self) -> bool:
        """The last write failed and none succeeded since."""
        with self._lock:
            return self.last_failure is not None and (self.last_ok is None or self.last_failure > self.last_ok)

    def report(self) -> dict[str, Any]:
        """{last_ok, last_failure (ISO UTC or null), failure (the error, or ""), failing}."""
        with self._lock:
            last_ok, last_failure, failure = self.last_ok, self.last_failure, self.failure
        return {
            "last_ok": _iso(last_ok),
            "last_failure": _iso(last_failure),
            "failure": failure if last_failure else "",
            "failing": self.failing,
        }


#: Below this many free bytes the disk counts as full (`/healthz` answers 503): SQLite's WAL grows by whole pages
#: (4 KiB each, a call next writes about ten), so a write may fail at any moment. Above a disk's last megabyte a
#: write may still succeed now and then (a WAL restarted from its start needs no new space: on a full 16 MiB disk
#: every third kiosk tap still landed, and a write probe with them), so the writes' own outcome cannot say it alone.
DISK_FULL_BELOW_BYTES = 1 << 20


def disk_full(free_bytes: int | None) -> bool:
    """Whether `free_bytes` (from `disk_free_bytes`; None: unknown, not full) leaves the disk in effect full."""
    return free_bytes is not None and free_bytes < DISK_FULL_BELOW_BYTES


def disk_free_bytes(folder: Path) -> int | None:
    """Free bytes on the file system of `folder` (the SQLite database, the audio cache); None if unknown."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _iso(stamp: float | None) -> str | None:
    return datetime.fromtimestamp(stamp, UTC).isoformat() if stamp is not None else None
