"""`luot serve` refuses what would break the hall (a busy port, a second server on one SQLite file, a database
at another revision), stops with status 0 on SIGTERM, and prints the LAN address when it listens on 0.0.0.0."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from server.commands import initialise
from server.migrate import upgrade
from server.ops.lan import choose_lan_address
from server.process import ServerProcess, free_port
from server.settings import load_settings
from tests.support.netns import namespace

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("netns_client.py")


def serve(instance: Path, port: int, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """`luot serve` expected to refuse: it must exit by itself."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
    environ.update(LUOT_INSTANCE_DIR=str(instance), LUOT_PORT=str(port), LUOT_HOST="127.0.0.1", **env)
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "serve"],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "first")
    server.prepare()
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_a_second_server_refuses_the_port_and_the_sqlite_file_and_sigterm_exits_zero(
    running: ServerProcess, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    initialise(load_settings(environ={}, instance_dir=str(other)))
    same_port = serve(other, running.port)
    assert same_port.returncode == 1
    assert f"port {running.port} on 127.0.0.1 is already in use" in same_port.stderr

    same_file = serve(running.instance_dir, free_port())
    assert same_file.returncode == 1
    assert "another Lượt server (pid" in same_file.stderr and "luot.sqlite3" in same_file.stderr

    listeners = subprocess.run(["ss", "-Hltn", f"sport = :{running.port}"], capture_output=True, text=True)
    assert len(listeners.stdout.strip().splitlines()) == 1, listeners.stdout

    assert running.process is not None
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(20) == 0, running.log()
    running.process = None
    # the lock went with the process: the same file serves again
    again = ServerProcess(running.instance_dir)
    again.start()
    again.stop()


@pytest.mark.slow
def test_serve_refuses_a_database_behind_or_ahead_of_the_code(tmp_path: Path) -> None:
    settings = load_settings(environ={}, instance_dir=str(tmp_path / "old"))
    settings.instance_path.mkdir(parents=True)
    (settings.instance_path / "secret_key").write_text("x" * 64)
    upgrade(settings.resolved_database_url, "0001")
    behind = serve(settings.instance_path, free_port())
    assert behind.returncode == 1 and "run `luot upgrade` first" in behind.stderr, behind.stderr

    upgrade(settings.resolved_database_url)
    with closing(sqlite3.connect(settings.instance_path / "luot.sqlite3")) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    ahead = serve(settings.instance_path, free_port())
    assert ahead.returncode == 1 and "newer than this version of Lượt" in ahead.stderr, ahead.stderr

    empty = serve(tmp_path / "nothing", free_port())
    assert empty.returncode == 1 and "run `luot init` first" in empty.stderr, empty.stderr


def test_the_lan_address_is_a_private_address_of_a_physical_interface() -> None:
    assert choose_lan_address([("lo", "127.0.0.1")]) is None
    assert choose_lan_address([("lo", "127.0.0.1"), ("docker0", "172.17.0.1"), ("eno1", "192.168.1.20")]) == (
        "192.168.1.20"
    )
    assert choose_lan_address([("docker0", "172.17.0.1")]) == "172.17.0.1"  # better than nothing
    assert choose_lan_address([("eth0", "1.2.3.4"), ("eth1", "10.0.0.7")]) == "10.0.0.7"


@pytest.mark.slow
def test_on_0_0_0_0_the_printed_urls_and_qr_codes_carry_the_lan_address(tmp_path: Path) -> None:
    with namespace(lan_address="10.200.0.1/24") as netns:
        instance = tmp_path / "instance"
        port = str(free_port())
        env = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
        env.update(
            LUOT_INSTANCE_DIR=str(instance),
            LUOT_HOST="0.0.0.0",
            LUOT_PORT=port,
            LUOT_CLOCK_START="2026-11-18T09:00:00+07:00",
            LUOT_LOG_LEVEL="WARNING",
        )
        for step in (["init"], ["seed-demo"], ["demo-info"]):
            done = subprocess.run(
                [*netns, sys.executable, "-m", "server.cli", *step],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
        assert f"http://10.200.0.1:{port}/kiosk/?token=demo-kiosk-1" in done.stdout, done.stdout
        log = tmp_path / "serve.log"
        with log.open("w") as out:
            server = subprocess.Popen(
                [*netns, sys.executable, "-m", "server.cli", "serve"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            client = subprocess.run(
                [*netns, sys.executable, str(CLIENT), port, "demo-kiosk-1", "STP-CT"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert client.returncode == 0, client.stderr + log.read_text()
            ticket = json.loads(client.stdout)["ticket"]
        finally:
            server.send_signal(signal.SIGTERM)
            assert server.wait(20) == 0, log.read_text()
        assert ticket["tracking_url"].startswith(f"http://10.200.0.1:{port}/t/"), ticket["tracking_url"]
        printed = log.read_text()
        assert (
            f"LAN address (found on this machine's network interfaces; used in QR codes): http://10.200.0.1:{port}"
            in printed
        )
