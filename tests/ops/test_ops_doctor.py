"""`luot doctor`: every check passes on a healthy instance, then each fails in turn, alone, with its reason."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.db import Database
from server.migrate import upgrade
from server.models import Site
from server.ops.doctor import FAIL, OK, Probes, check_public_url, exit_status, run_checks
from server.process import ServerProcess, free_port
from server.provisioning import create_device
from server.settings import Settings, load_settings
from tests.support.world import build_world

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """A running server on an instance with a kiosk whose printer is a writable PDF folder."""
    folder = tmp_path_factory.mktemp("doctor")
    server = ServerProcess(folder / "instance")

    def populate(db: Database) -> None:
        build_world(db)
        with db.write() as session:
            site = session.get(Site, 1)
            assert site is not None
            create_device(session, site, "kiosk", "Kiosk PDF", "kiosk-pdf", printer=f"pdf:{folder}")

    server.prepare(populate)
    server.start()
    settings = load_settings(environ={}, instance_dir=str(server.instance_dir), public_url=server.url)
    yield settings, folder
    server.stop()


def good_probes() -> Probes:
    return Probes(clock_synchronised=lambda: True, min_free_mb=1)


def statuses(settings: Settings, probes: Probes) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for check in run_checks(settings, probes):
        found.setdefault(check.name, []).append(check.status)
    return found


def test_a_healthy_instance_passes_every_check(healthy: tuple[Settings, Path]) -> None:
    settings, _ = healthy
    checks = run_checks(settings, good_probes())
    assert [c.name for c in checks] == ["database", "disk", "clock", "voice", "fonts", "printer", "url"]
    assert all(c.status == OK for c in checks), [c.line() for c in checks]
    assert exit_status(checks) == 0


def _old_database(settings: Settings, tmp: Path) -> Settings:
    old = load_settings(environ={}, instance_dir=str(tmp / "old"), public_url=settings.public_url)
    old.instance_path.mkdir(parents=True)
    upgrade(old.resolved_database_url, "0001")
    return old


CASES = {
    "database": (lambda s, p, tmp: (_old_database(s, tmp), p), "run `luot upgrade` first"),
    "disk": (lambda s, p, tmp: (s, dataclasses.replace(p, min_free_mb=10**9)), "less than 1000000000 MB"),
    "clock": (lambda s, p, tmp: (s, dataclasses.replace(p, clock_synchronised=lambda: False)), "not synchronised"),
    "voice": (lambda s, p, tmp: (dataclasses.replace(s, espeak_path="/nowhere/espeak-ng"), p), "not found"),
    "fonts": (lambda s, p, tmp: (s, dataclasses.replace(p, font_candidates=["/nowhere/font.ttf"])), "no font"),
    "redis": (
        lambda s, p, tmp: (dataclasses.replace(s, message_queue=f"redis://127.0.0.1:{free_port()}/0"), p),
        "does not answer",
    ),
    "url": (
        lambda s, p, tmp: (dataclasses.replace(s, public_url=f"http://127.0.0.1:{free_port()}"), p),
        "does not answer from this machine",
    ),
}


@pytest.mark.parametrize("failing", [*CASES, "printer"])
def test_each_check_fails_alone_with_its_reason(healthy: tuple[Settings, Path], tmp_path: Path, failing: str) -> None:
    settings, _ = healthy
    probes = good_probes()
    extra_device = None
    if failing == "printer":
        expected = "network:127.0.0.1"
        db = Database(settings)
        with db.write() as session:
            site = session.get(Site, 1)
            assert site is not None
            device = create_device(
                session,
                site,
                "kiosk",
                "Kiosk mạng",
                f"kiosk-net-{tmp_path.name}",
                printer=f"network:127.0.0.1:{free_port()}",
            )
            session.flush()
            extra_device = device.id
    else:
        change, expected = CASES[failing]
        settings, probes = change(settings, probes, tmp_path)
    try:
        checks = run_checks(settings, probes)
    finally:
        if extra_device is not None:
            from server.models import Device

            with db.write() as session:
                session.delete(session.get(Device, extra_device))
            db.dispose()
    failed = [c for c in checks if c.status == FAIL]
    assert [c.name for c in failed] == [failing], [c.line() for c in checks]
    assert expected in failed[0].detail, failed[0].detail
    assert exit_status(checks) == 1


def test_the_command_prints_one_line_per_check_and_exits_1_on_failure(healthy: tuple[Settings, Path]) -> None:
    settings, _ = healthy
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
    env.update(LUOT_INSTANCE_DIR=str(settings.instance_path), LUOT_PUBLIC_URL=settings.public_url)
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "doctor", "--min-free-mb", str(10**9)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("OK    database") and any(line.startswith("FAIL  disk") for line in lines), lines
    assert any(line.startswith("OK    url") for line in lines), lines


#: A real local HTTP server (its own process: an earlier test may have patched this one for eventlet) answering
#: `/healthz` as a server on a full disk does: 503 and its reasons. It prints its port, then serves.
_FULL_DISK_SERVER = """
import http.server, json, sys
body = json.dumps({"status": "error", "database": "ok", "disk": "full", "disk_free_bytes": 0,
                   "writes": {"failing": True, "failure": "OperationalError: database or disk is full"}}).encode()
class Full(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Full)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.fixture
def unhealthy_url() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-c", _FULL_DISK_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())  # it listens before it prints
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def test_a_server_that_answers_503_is_reported_with_its_reasons(healthy, unhealthy_url: str) -> None:
    """A `/healthz` answering 503 (the disk full) is not "does not answer: is luot serve running?" (found from
    outside): the check names the status and what the server says is wrong."""
    settings, _folder = healthy
    check = check_public_url(dataclasses.replace(settings, public_url=unhealthy_url), timeout=5)
    assert check.status == FAIL
    assert "answered 503" in check.detail and "the disk is full" in check.detail, check.detail
    assert "writes fail: OperationalError: database or disk is full" in check.detail
    assert "is `luot serve` running" not in check.detail
