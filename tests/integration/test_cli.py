"""The `luot` command: init is repeatable, seed-demo builds the province, backup copies a live database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import func, select

from server.commands import cli
from server.db import Database
from server.models import Agency, Counter, Service, Ticket, User
from server.process import ServerProcess
from server.settings import load_settings
from tests.support.api import bearer
from tests.support.world import build_world


def test_init_is_safe_to_run_twice_and_keeps_the_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(tmp_path / "inst"))
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    secret = (tmp_path / "inst" / "secret_key").read_text()
    assert len(secret) == 64
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert (tmp_path / "inst" / "secret_key").read_text() == secret


def test_seed_demo_creates_a_provincial_centre_once(tmp_path, monkeypatch, migrated_instance):
    import shutil

    shutil.copytree(migrated_instance, tmp_path / "inst")
    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(tmp_path / "inst"))
    runner = CliRunner()
    assert "created" in runner.invoke(cli, ["seed-demo"]).output
    assert "already" in runner.invoke(cli, ["seed-demo"]).output
    db = Database(load_settings())
    with db.read() as s:
        centre_agencies = s.exec(select(func.count()).select_from(Agency).where(Agency.site_id == 1)).one()
        assert centre_agencies == 20
        assert s.exec(select(func.count()).select_from(Counter).where(Counter.site_id == 1)).one() >= 40
        assert s.exec(select(func.count()).select_from(Service)).one() >= 40
        assert s.exec(select(User).where(User.username == "admin")).first().role == "admin"
        bookable = s.exec(select(Service).where(Service.bookable, Service.online_numbers)).all()
        assert {service.code for service in bookable} >= {"STP-LLTP", "CN-HT"}  # a new user can try booking
        assert all(service.opening_hours for service in bookable)
    db.dispose()
    info = runner.invoke(cli, ["demo-info"]).output
    assert "/kiosk/?token=demo-kiosk-1" in info and "admin / demo-admin" in info
    assert "/book/TTHCC" in info


def test_create_user_refuses_a_duplicate(tmp_path, monkeypatch, migrated_instance):
    import shutil

    shutil.copytree(migrated_instance, tmp_path / "inst")
    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(tmp_path / "inst"))
    runner = CliRunner()
    args = ["create-user", "lan", "--role", "manager", "--password", "p4ss-word"]
    assert runner.invoke(cli, args).exit_code == 0
    again = runner.invoke(cli, args)
    assert again.exit_code != 0 and "exists" in again.output


def test_backup_copies_the_database_while_the_server_runs(tmp_path):
    server = ServerProcess(tmp_path / "instance")
    world = server.prepare(build_world)
    server.start()
    try:
        import requests

        for _ in range(5):
            response = requests.post(
                f"{server.url}/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(world.kiosk_token), timeout=10
            )
            assert response.status_code == 201
        target = tmp_path / "backups" / "luot.sqlite3"
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", "backup", str(target)],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parents[2],
        )
        assert result.returncode == 0, result.stderr
        with sqlite3.connect(target) as copy:
            assert copy.execute("SELECT count(*) FROM ticket").fetchone()[0] == 5
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        server.stop()
    assert Ticket  # the table the copy was checked against
