"""The announcement audio cache's bounds (issue 19, item 9): at most `max_bytes` of WAV files, none unused for
longer than `max_age` seconds; the least recently used go first.

A file's modification time is its last use: a cache hit touches it. `prune()` runs after each new file (a few
hundred directory entries at the default 200 MiB: well under a millisecond per call); the newest file — the one
just written or played — is never removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)


class AudioCache:
    def __init__(self, folder: Path, max_bytes: int | None = None, max_age: float | None = None) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.max_age = max_age

    def touch(self, path: Path) -> None:
        """Marks `path` as just used (a hit; unbounded caches do not track use); a file removed meanwhile is no
        error."""
        if self.max_bytes is None and self.max_age is None:
            return
        with contextlib.suppress(OSError):
            os.utime(path)

    def prune(self) -> int:
        """Removes what is too old, then the least recently used until the total fits; returns files removed."""
        if self.max_bytes is None and self.max_age is None:
            return 0
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
        if removed:
            log.info("audio cache: removed %d files, %d bytes kept in %d", removed, total, len(files) - removed)
        return removed
