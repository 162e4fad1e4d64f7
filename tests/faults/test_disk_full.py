"""A full disk under one SQLite process (issue 19, item 7): issuing answers 503, and /healthz says so — the last
write failure, the free space — instead of 200 "database: ok"; once space is freed, its write probe clears the
failure without waiting for a citizen's ticket.

The instance folder is a small tmpfs (needs root to mount; skipped otherwise, failed under LUOT_REQUIRE_ALL=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from server.process import ServerProcess
from tests.faults.small_disk import fill, small_tmpfs
from tests.integration._live import Api
from tests.support.world import build_world

pytestmark = [pytest.mark.slow, pytest.mark.faults]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", "16m") as mount:
        yield mount


def test_a_full_disk_shows_in_healthz_and_clears_after_space_is_freed(small_disk: Path):
    server = ServerProcess(small_disk / "instance", env={"LUOT_SQLITE_SYNCHRONOUS": "FULL"})
    world = server.prepare(build_world)
    server.start()
    try:
        kiosk = Api(server.url, world.kiosk_token)  # type: ignore[attr-defined]
        kiosk.ok("/tickets", {"service": "TP-A"})
        healthy = requests.get(f"{server.url}/healthz", timeout=10)
        assert healthy.status_code == 200 and healthy.json()["writes"]["last_ok"]

        filler = fill(small_disk)
        statuses = [kiosk.post("/tickets", {"service": "TP-A"}).status_code for _ in range(40)]
        assert 503 in statuses and 500 not in statuses, statuses
        full = requests.get(f"{server.url}/healthz", timeout=10)
        report = full.json()
        assert full.status_code == 503 and report["status"] == "error", (statuses, report)
        assert report["disk"] == "full" and report["disk_free_bytes"] < 1 << 20, report
        # the failed writes said why (a write now and then may still land: a WAL restarted from its start needs no
        # new space, so whether the latest one, or the probe, failed is the disk's luck; the disk's own check is not)
        assert report["writes"]["last_failure"] and "full" in report["writes"]["failure"].lower(), report

        filler.unlink()
        freed = requests.get(f"{server.url}/healthz", timeout=10)  # no ticket issued in between: the probe
        assert freed.status_code == 200 and freed.json()["disk"] == "ok", freed.json()
        assert freed.json().get("write_probe", "ok") == "ok" and not freed.json()["writes"]["failing"]
        assert kiosk.post("/tickets", {"service": "TP-A"}).status_code == 201
        kiosk.close()
    finally:
        server.stop()
