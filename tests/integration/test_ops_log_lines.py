"""What an operator reads (the IT officer's D9): the event log names the counter of a call, log lines carry the
centre's offset, backups are named in the centre's local time, and CLI commands do not print eventlet's
deprecation warning (while other warnings still show)."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.ops.backups import backup_into
from tests.support.api import act, issue, staff_token
from tests.support.world import World

ROOT = Path(__file__).resolve().parents[2]


def test_the_event_log_names_the_counter_of_each_ticket_event(
    client: FlaskClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    issue(client, world.kiosk_token, "TP-A")
    clerk = staff_token(client, "clerk1")
    counter = world.counters["c1"]
    with caplog.at_level(logging.INFO, logger="luot.event"):
        act(client, clerk, counter, "open")
        act(client, clerk, counter, "next")
        act(client, clerk, counter, "recall")
    lines = [r.getMessage() for r in caplog.records if r.name == "luot.event"]
    for kind in ("called", "recalled"):
        (line,) = [text for text in lines if text.startswith(f"event kind={kind} ")]
        assert f" counter_id={counter} " in line, line


def test_log_lines_carry_the_centres_offset(app: Flask) -> None:
    """The handler create_app installs stamps 18:00 UTC on 1 December as 01:00 on 2 December, +07:00."""
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_luot", False)]
    record = logging.LogRecord("server.x", logging.WARNING, __file__, 1, "hello", None, None)
    record.created = datetime(2026, 12, 1, 18, 0, 0, 250000, tzinfo=UTC).timestamp()
    assert handler.format(record) == "2026-12-02 01:00:00,250+07:00 WARNING server.x: hello"


def test_a_backup_is_named_in_the_centres_local_time(tmp_path: Path) -> None:
    source = tmp_path / "luot.sqlite3"
    connection = sqlite3.connect(source)
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    connection.close()
    made, _ = backup_into(source, tmp_path / "backups", keep=3, now=datetime(2026, 12, 1, 18, 0, tzinfo=UTC))
    assert made.name == "luot-20261202-010000.sqlite3"  # the 01:00 timer's backup of 2 December


def _python(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUOT_", "PYTHONWARNINGS"))}
    env["LUOT_INSTANCE_DIR"] = str(tmp_path / "instance")
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_cli_commands_do_not_print_eventlets_deprecation_warning(tmp_path: Path) -> None:
    assert _python(tmp_path, "-m", "server.cli", "init").returncode == 0
    closed = _python(tmp_path, "-m", "server.cli", "day-close")
    assert closed.returncode == 0, closed.stderr
    assert "Eventlet is deprecated" not in closed.stderr and "EventletDeprecationWarning" not in closed.stderr


def test_other_warnings_still_show(tmp_path: Path) -> None:
    code = (
        "import warnings; from server.asyncmode import quiet_eventlet; quiet_eventlet(); import eventlet; "
        "warnings.warn('another warning', UserWarning); warnings.warn('old', DeprecationWarning)"
    )
    shown = _python(tmp_path, "-W", "default", "-c", code)
    assert shown.returncode == 0, shown.stderr
    assert "UserWarning: another warning" in shown.stderr and "DeprecationWarning: old" in shown.stderr
    assert "Eventlet is deprecated" not in shown.stderr
