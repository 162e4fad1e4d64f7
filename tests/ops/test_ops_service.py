"""`luot install-service` writes systemd units that systemd accepts (systemd-analyze verify, every line parsed),
with the hardening, restart policy and timers the README promises."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.tools import missing

ROOT = Path(__file__).resolve().parents[2]


def test_install_service_writes_units_systemd_accepts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "install-service",
            "--dest",
            str(tmp_path / "units"),
            "--env-file",
            str(tmp_path / "etc" / "luot.env"),
            "--instance-dir",
            str(tmp_path / "var"),
            "--backup-dir",
            str(tmp_path / "backups"),
            "--keep",
            "30",
            "--user",
            "root",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    units = tmp_path / "units"
    names = sorted(p.name for p in units.iterdir())
    assert names == [
        "luot-backup.service",
        "luot-backup.timer",
        "luot-rollup.service",
        "luot-rollup.timer",
        "luot.service",
    ]
    service = (units / "luot.service").read_text()
    luot = str(Path(sys.executable).with_name("luot"))
    for line in (
        "Restart=on-failure",
        "User=root",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        f"ReadWritePaths={tmp_path / 'var'} {tmp_path / 'backups'}",
        f"ExecStart={luot} serve",
        f"ExecStartPre={luot} upgrade --backup-dir {tmp_path / 'backups'}",
        "KillSignal=SIGTERM",
    ):
        assert line in service.splitlines(), line
    assert (
        f"ExecStart={luot} backup --dir {tmp_path / 'backups'} --keep 30" in (units / "luot-backup.service").read_text()
    )
    assert f"ExecStart={luot} stats rollup" in (units / "luot-rollup.service").read_text()
    assert "LUOT_METRICS" in (tmp_path / "etc" / "luot.env").read_text()

    if shutil.which("systemd-analyze") is None:
        missing("systemd-analyze is not installed")
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(f"./{name}" for name in names)],
        cwd=units,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = verified.stdout + verified.stderr
    assert verified.returncode == 0 and "ignoring" not in output and "Failed" not in output, output
