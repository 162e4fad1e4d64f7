"""A small file system of its own (tmpfs; mounting needs root) for disk-full drills, and a way to fill it."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.support.tools import missing


@contextlib.contextmanager
def small_tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """Mounts a tmpfs of `size` (mount's syntax: "16m") on the new folder `mount`; skips the test (fails under
    LUOT_REQUIRE_ALL=1) when it cannot be mounted; unmounts (lazily) at the end."""
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        missing(f"cannot mount a tmpfs ({done.stderr.decode().strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Writes a file until the file system has no byte left; returns it (unlink it to free the space).

    Unbuffered, and closed inside the suppression: a buffered file's close() flushed what the full disk had
    refused and raised ENOSPC out of the `with` (a CI run failed so, depending on where the disk ran out)."""
    filler = folder / "filler"
    chunk = b"\0" * (1 << 16)
    handle = filler.open("wb", buffering=0)
    try:
        with contextlib.suppress(OSError):
            while handle.write(chunk):
                pass
    finally:
        with contextlib.suppress(OSError):
            handle.close()
    return filler
