"""The announcement audio cache's bounds (issue 19, item 9): at most `max_bytes` of WAV files, none unused for
longer than `max_age` seconds; the least recently used go first.

A file's modification time is its last use: a cache hit touches it. `prune(added)` runs after each new file; the
newest file — the one just written or played — is never removed.

A prune reads the whole folder (one `stat` per file), so it does so only when it must: at its first call, when the
bytes known at the last reading plus those added since pass `max_bytes`, and at most `SCAN_EVERY` seconds after the
last reading (the age bound, in days, and files written by another process). At rush hour every call renders a new
file: thousands of files read per call had stalled the event loop that serves the clerks (issue 13).

Several server processes sharing one folder each count their own new files only: between two readings the
folder may pass `max_bytes` by what the others wrote in that minute; the next reading brings it back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

SCAN_EVERY = 60.0  # seconds between two readings of the folder when no bound is near


class AudioCache:
    def __init__(self, folder: Path, max_bytes: int | None = None, max_age: float | None = None) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.scans = 0
        self._known_bytes: int | None = None  # the folder's total at the last reading, plus what was added since
        self._next_scan = 0.0  # time.monotonic() of the next reading due

    def touch(self, path: Path) -> None:
        """Marks `path` as just used (a hit; unbounded caches do not track use); a file removed meanwhile is no
        error."""
        if self.max_bytes is None and self.max_age is None:
            return
        with contextlib.suppress(OSError):
            os.utime(path)

    def prune(self, added: int = 0) -> int:
        """After `added` bytes were written: removes what is too old, then the least recently used until the total
        fits; returns files removed. Reads the folder only when a reading is due (see the module docstring)."""
        if self.max_bytes is None and self.max_age is None:
            return 0
        now = time.monotonic()
        if self._known_bytes is not None:
            self._known_bytes += added
            within = self.max_bytes is None or self._known_bytes <= self.max_bytes
            if within and now < self._next_scan:
                return 0
        self._next_scan = now + SCAN_EVERY
        self.scans += 1
        files: list[tuple[float, int, Path]] = []
        for entry in os.scandir(self.folder):
            if entry.name.endswith(".wav") and entry.is_file(follow_symlinks=False):
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                files.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        files.sort()  # oldest use first
        candidates = files[:-1]  # the newest stays, whatever the bounds
        total = sum(size for _, size, _ in files)
        removed = 0
        horizon = time.time() - self.max_age if self.max_age is not None else None
        for mtime, size, path in candidates:
            too_old = horizon is not None and mtime < horizon
            too_big = self.max_bytes is not None and total > self.max_bytes
            if not (too_old or too_big):
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove cached audio %s: %s", path, exc)
                continue
            total -= size
            removed += 1
        self._known_bytes = total
        if removed:
            log.info("audio cache: removed %d files, %d bytes kept in %d", removed, total, len(files) - removed)
        return removed
