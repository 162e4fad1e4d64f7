"""What the IT officer sees when a `luot` command meets a bad setting, a folder it may not read, a read-only disk,
a damaged or foreign database or a file in another encoding: one `Error: …` line (or a `luot doctor` FAIL line)
naming the file or setting and what to do, never a Python traceback (server.ops.failures)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.commands import cli
from server.db import Database
from server.settings import load_settings
from tests.support.world import build_world

ROOT = Path(__file__).parents[2]
#: Commands that read the settings and then the instance folder and its database.
COMMANDS = (
    ["serve"],
    ["init"],
    ["doctor"],
    ["upgrade"],
    ["day-close"],
    ["stats", "rollup"],
    ["backup", "{tmp}/copy.sqlite3"],
    ["config", "export", "-"],
)
#: Without root's capability to read and write anything, as a service user would run (`luot` as root would not
#: meet the permission it lacks).
AS_SERVICE_USER = (
    [
        "setpriv",
        "--bounding-set",
        "-dac_override,-dac_read_search,-fowner",
        "--inh-caps",
        "-dac_override,-dac_read_search,-fowner",
    ]
    if os.geteuid() == 0
    else []
)


def luot(args: list[str], instance: Path, prefix: list[str] | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
    environment.update(LUOT_INSTANCE_DIR=str(instance), LUOT_LOG_LEVEL="WARNING", **env)
    environment["PYTHONWARNINGS"] = "ignore"  # eventlet's deprecation notice at import: not a failure of ours
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "server.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The command's single `Error: …` line; fails on a traceback, a zero exit or more than one line."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture
def instance(tmp_path: Path, migrated_instance: Path) -> Path:
    folder = tmp_path / "instance"
    shutil.copytree(migrated_instance, folder)
    return folder


def command(args: list[str], tmp: Path) -> list[str]:
    return [arg.replace("{tmp}", str(tmp)) for arg in args]


BAD_SETTINGS = {
    "LUOT_DATABASE_URL": ["nonsense", "mysql://a@b/c", "postgresql://h/db"],
    "LUOT_MESSAGE_QUEUE": ["bogus", "amqp://x"],
    "LUOT_REDIS_TIMEOUT": ["-3"],
    "LUOT_TRUSTED_PROXIES": ["-1"],
    "LUOT_PORT": ["abc", "-1", "99999"],
    "LUOT_LOG_LEVEL": ["LOUD"],
    "LUOT_CLOCK_START": ["yesterday"],
    "LUOT_SQLITE_SYNCHRONOUS": ["SOMETIMES"],
    "LUOT_TICKET_RATE_LIMIT": ["lots"],
    "LUOT_PRINTER_NETWORKS": ["foo"],
    "LUOT_DB_POOL_SIZE": ["-5", "0"],
    "LUOT_PRIVACY_DAYS": ["-1"],
    "LUOT_CLOCK_SPEED": ["-100", "nan"],
    "LUOT_METRICS": ["maybe"],
    "LUOT_CONFIG": ["/nonexistent/luot.toml"],
}


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in BAD_SETTINGS.items() for value in values]
)
def test_a_bad_setting_is_one_error_line_naming_it_in_every_command(instance, tmp_path, monkeypatch, args, name, value):
    for variable in [v for v in os.environ if v.startswith("LUOT_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(instance))
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, command(args, tmp_path))
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {name}"), result.output


def test_the_installed_command_says_a_bad_setting_in_one_line(instance):
    """The same through the real entry point (server.cli.main): the queue scheme is named, no pip advice."""
    line = one_error_line(luot(["serve"], instance, LUOT_MESSAGE_QUEUE="amqp://x"))
    assert line.startswith("Error: LUOT_MESSAGE_QUEUE must be empty") and "redis://" in line and "pip" not in line
    assert one_error_line(luot(["serve"], instance, LUOT_DB_POOL_SIZE="-5")).startswith("Error: LUOT_DB_POOL_SIZE")


@pytest.mark.skipif(not shutil.which("setpriv") and os.geteuid() == 0, reason="needs setpriv to drop root's rights")
def test_a_folder_the_user_may_not_read_is_named_with_the_user(instance, tmp_path):
    instance.chmod(0o000)
    try:
        for args in COMMANDS:
            result = luot(command(args, tmp_path), instance, AS_SERVICE_USER)
            if args == ["doctor"]:
                assert "Traceback" not in result.stderr and result.returncode == 1, result.stderr
                assert result.stdout.splitlines()[0].startswith(
                    f"FAIL  database    {instance}/luot.sqlite3: permission"
                )
                continue
            line = one_error_line(result)
            assert f"{instance}" in line and "permission denied for user " in line and "chown -R" in line, line
    finally:
        instance.chmod(0o700)


def damage(database: Path) -> None:
    with database.open("r+b") as handle:
        handle.write(b"not an SQLite header, nothing here is a database" * 2)


def test_a_damaged_database_says_restore_the_newest_backup(instance, tmp_path):
    damage(instance / "luot.sqlite3")
    for args in COMMANDS:
        result = luot(command(args, tmp_path), instance)
        if args == ["doctor"]:
            assert "Traceback" not in result.stderr and result.returncode == 1, result.stderr
            first = result.stdout.splitlines()[0]
            assert first.startswith("FAIL  database") and "damaged" in first and "luot restore" in first, first
            continue
        line = one_error_line(result)
        assert (
            f"{instance}/luot.sqlite3: the database is damaged" in line and "`luot restore` the newest backup" in line
        )


def test_an_empty_database_file_says_run_luot_init(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "luot.sqlite3").write_bytes(b"")
    for args in (["config", "export", "-"], ["stats", "rollup"], ["day-close"], ["serve"]):
        line = one_error_line(luot(args, instance))
        assert "run `luot init`" in line, line


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="mounts a read-only tmpfs (root)")
def test_a_read_only_disk_is_said_to_be_one(instance, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    results = tmp_path / "results"
    results.mkdir()
    runs = []
    for number, args in enumerate(COMMANDS):
        if args == ["init"]:
            continue
        arguments = " ".join(f"'{arg}'" for arg in command(args, disk))
        into = f">{results}/{number} 2>&1" if args == ["doctor"] else f"2>{results}/{number} >/dev/null"
        runs.append(f"{sys.executable} -m server.cli {arguments} {into}; echo $? >>{results}/{number}")
    script = (
        f"mount --make-rprivate / && mount -t tmpfs tmpfs {disk} && cp -a {instance} {disk}/instance && "
        f"mount -o remount,ro {disk} && " + " ; ".join(runs)
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
    environment.update(LUOT_INSTANCE_DIR=str(disk / "instance"), LUOT_LOG_LEVEL="WARNING")
    environment["PYTHONWARNINGS"] = "ignore"
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], env=environment, cwd=ROOT, timeout=300)
    assert done.returncode in (0, 1)
    outputs = sorted(results.iterdir())
    assert len(outputs) == len(runs)
    for output in outputs:
        if COMMANDS[int(output.name)] == ["doctor"]:
            assert f"FAIL  disk        {disk}/instance: the disk is read-only" in output.read_text()
            continue
        *lines, status = output.read_text().strip().splitlines()
        assert status == "1" and len(lines) == 1, (COMMANDS[int(output.name)], lines)
        assert lines[0].startswith(f"Error: {disk}/") and "the disk is read-only" in lines[0], lines[0]


@pytest.fixture
def populated(instance: Path) -> Path:
    """The instance with a small world in it (sites with Vietnamese names, users with password hashes)."""
    db = Database(load_settings(environ={}, instance_dir=str(instance)))
    build_world(db)
    db.dispose()
    return instance


def test_config_import_takes_utf8_with_a_bom_and_notepads_utf16(populated, tmp_path):
    instance = populated
    exported = tmp_path / "setup.toml"
    assert luot(["config", "export", str(exported)], instance).returncode == 0
    text = exported.read_text(encoding="utf-8")
    for name, data in (("bom.toml", b"\xef\xbb\xbf" + text.encode("utf-8")), ("utf16.toml", text.encode("utf-16"))):
        (tmp_path / name).write_bytes(data)
        result = luot(["config", "import", str(tmp_path / name)], instance)
        assert result.returncode == 0 and result.stdout.startswith("Imported:"), result.stderr
    (tmp_path / "latin1.toml").write_bytes('[[site]]\ncode = "TTHCC"\nname = "Trung tâm"\n'.encode("latin-1"))
    line = one_error_line(luot(["config", "import", str(tmp_path / "latin1.toml")], instance))
    assert line.startswith(f"Error: {tmp_path}/latin1.toml: not UTF-8 text") and "save it as UTF-8" in line


def test_config_export_is_private_and_a_missing_folder_is_named(populated, tmp_path):
    instance = populated
    target = tmp_path / "setup.toml"
    target.write_text("old")
    target.chmod(0o644)
    assert luot(["config", "export", str(target)], instance).returncode == 0
    fresh = tmp_path / "fresh.toml"
    assert luot(["config", "export", str(fresh)], instance).returncode == 0
    for written in (target, fresh):  # it holds password and device-token hashes
        assert written.stat().st_mode & 0o777 == 0o600 and "[[user]]" in written.read_text()
    line = one_error_line(luot(["config", "export", str(tmp_path / "no" / "such" / "x.toml")], instance))
    assert line == f"Error: {tmp_path}/no/such/x.toml: the folder {tmp_path}/no/such does not exist"


def test_a_folder_outside_the_instance_is_not_offered_to_chown(populated, tmp_path):
    """Only the instance folder is the service's to take: for another (here the export's; /etc for
    install-service) the line says whose it is and to run luot as them."""
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o500)
    line = one_error_line(luot(["config", "export", str(closed / "x.toml")], populated, AS_SERVICE_USER))
    assert line.startswith(f"Error: {closed}/x.toml: permission denied for user ") and "chown" not in line, line
