"""Fault drills for one SQLite process (issue 19) under a steady load of a kiosk, two clerks and 24 boards that behave
like live.js + board.js (tests.support.live_board); checks in `tests.faults.drill`. The figures are printed (pytest -s).

- The server SIGKILLed and started again.
- The disk filled (the instance folder on a 64 MiB tmpfs of its own; mounting needs root): writes answer 503
  `storage_unavailable` meanwhile; once space is freed, the same process serves again, without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.process import ServerProcess
from tests.faults.drill import Load, check
from tests.faults.small_disk import fill, small_tmpfs
from tests.support.live_board import LiveBoard, wait_until
from tests.support.world import build_world

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(180)]

BOARDS = 24


@contextmanager
def loaded(instance: Path, **env: str) -> Iterator[tuple[ServerProcess, list[LiveBoard], Load]]:
    """One `luot serve` on `instance` with BOARDS boards (each with its first snapshot) and a kiosk and two clerks
    at work (at least 5 calls made); the load finished, the boards closed and the server stopped at the end."""
    server = ServerProcess(instance, async_mode="eventlet", env=env)
    world = server.prepare(build_world)
    server.start()
    boards = [LiveBoard(server.url, world.board_token) for _ in range(BOARDS)]  # type: ignore[attr-defined]
    clerks = [(server.url, "clerk1", world.counters["c1"]), (server.url, "clerk2", world.counters["c2"])]  # type: ignore[attr-defined]
    load = Load([server.url], world.kiosk_token, clerks)  # type: ignore[attr-defined]
    try:
        wait_until(lambda: all(b.heard.snapshots for b in boards), 20, "every board's first snapshot")
        load.start()
        wait_until(lambda: len(load.calls) >= 5, 20, "calls before the fault")
        yield server, boards, load
    finally:
        load.finish()
        for board in boards:
            board.close()
        server.stop()


def test_sigkill_under_load_every_call_after_recovery_reaches_every_board_in_order(tmp_path: Path):
    with loaded(tmp_path / "instance") as (server, boards, load):
        server.kill()
        killed, killed_at = time.monotonic(), datetime.now(UTC)
        server.start()
        wait_until(lambda: len(load.calls_since(killed)) >= 15, 60, "calls after recovery")
        load.finish()
        print("\ndrill sqlite sigkill:", check(boards, load, killed, killed_at, server.url))


def test_a_full_disk_under_load_answers_503_then_every_call_after_space_is_freed_reaches_every_board(tmp_path: Path):
    with (
        small_tmpfs(tmp_path / "disk", "64m") as disk,
        loaded(disk / "instance", LUOT_SQLITE_SYNCHRONOUS="FULL") as (server, boards, load),
    ):
        pid = server.pid
        filler = fill(disk)
        full = time.monotonic()
        wait_until(lambda: len([t for t in load.unavailable if t > full]) >= 5, 20, "writes refused (503)")
        wait_until(lambda: time.monotonic() - full > 3, 5, "three seconds of a full disk")  # the fault's length
        refused = len(load.unavailable)
        filler.unlink()
        freed, freed_at = time.monotonic(), datetime.now(UTC)
        wait_until(lambda: len(load.calls_since(freed)) >= 15, 60, "calls after space is freed")
        load.finish()
        figures = check(boards, load, freed, freed_at, server.url)
        assert server.pid == pid and server.process is not None and server.process.poll() is None  # no restart
        print("\ndrill sqlite disk full:", figures, f"refused while full: {refused}")
