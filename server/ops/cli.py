"""The operations commands of `luot`: backup, restore, upgrade, doctor, install-service (registered in
server.commands)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from server.ops.guards import Refusal
from server.settings import load_settings


@click.command()
@click.argument("destination", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write a dated luot-YYYYMMDD-HHMMSS.sqlite3 into this folder instead of DESTINATION.",
)
@click.option(
    "--keep",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="With --dir: keep only the newest N dated backups (0 = keep all).",
)
def backup(destination: Path | None, folder: Path | None, keep: int) -> None:
    """Copy the SQLite database while the server keeps running (online backup, integrity-checked)."""
    from server.ops.backups import backup_into, backup_to
    from server.ops.guards import sqlite_path

    database = sqlite_path(load_settings())
    if database is None:
        raise click.ClickException("backup copies the SQLite database; use pg_dump for PostgreSQL")
    if (destination is None) == (folder is None):
        raise click.UsageError("give either DESTINATION or --dir")
    try:
        if folder is not None:
            made, removed = backup_into(database, folder, keep)
            click.echo(f"Backed up to {made}" + (f"; removed {len(removed)} older backup(s)" if removed else ""))
        else:
            assert destination is not None
            click.echo(f"Backed up to {backup_to(database, destination)}")
    except Refusal as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(source: Path) -> None:
    """Replace the SQLite database with the backup SOURCE (stop the server first)."""
    from server.ops.backups import count_rows, restore_from

    try:
        database = restore_from(source, load_settings())
    except Refusal as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Restored {source} into {database}: {count_rows(database, 'ticket')} tickets")


@click.command()
@click.option(
    "--backup-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the pre-upgrade backup goes (default: <instance>/backups).",
)
def upgrade(backup_dir: Path | None) -> None:
    """Back up the database, then run the migrations up to this version's schema."""
    from server.ops.backups import upgrade_database

    settings = load_settings()
    try:
        done = upgrade_database(settings, backup_dir or settings.instance_path / "backups")
    except Refusal as exc:
        raise click.ClickException(str(exc)) from exc
    if done.before == done.after:
        click.echo(f"Database already at revision {done.after}.")
    else:
        click.echo(f"Database upgraded from {done.before} to {done.after}; backup before: {done.backup}")


@click.command()
@click.option(
    "--min-free-mb", type=click.IntRange(0), default=1024, show_default=True, help="Free disk space below this fails."
)
def doctor(min_free_mb: int) -> None:
    """Check database, disk, clock, voice, fonts, printers, Redis and the public URL; exit 1 if one fails."""
    from server.ops.doctor import Probes, exit_status, run_checks

    checks = run_checks(load_settings(), Probes(min_free_mb=min_free_mb))
    for check in checks:
        click.echo(check.line())
    sys.exit(exit_status(checks))


@click.command("install-service")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/etc/systemd/system"),
    show_default=True,
    help="Folder the units are written to.",
)
@click.option("--user", default="luot", show_default=True, help="The service's own user (created by install.sh).")
@click.option("--instance-dir", default="/var/lib/luot", show_default=True)
@click.option("--backup-dir", default="/var/backups/luot", show_default=True)
@click.option("--keep", type=click.IntRange(1), default=14, show_default=True, help="Nightly backups kept.")
@click.option("--env-file", default="/etc/luot/luot.env", show_default=True)
@click.option("--enable", is_flag=True, help="Then systemctl daemon-reload and enable --now the service and timers.")
def install_service(
    dest: Path, user: str, instance_dir: str, backup_dir: str, keep: int, env_file: str, enable: bool
) -> None:
    """Write the systemd units (luot.service, nightly roll-up and backup timers)."""
    from server.ops.service import ServiceLayout, write_env_file, write_units

    luot = str(Path(sys.executable).with_name("luot"))
    layout = ServiceLayout(luot, user, instance_dir, backup_dir, env_file, keep)
    for path in write_units(layout, dest):
        click.echo(f"wrote {path}")
    made = write_env_file(layout)
    if made is not None:
        click.echo(f"wrote {made} (settings)")
    for folder in (instance_dir, backup_dir):
        os.makedirs(folder, exist_ok=True)
    if enable:
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        subprocess.run(
            ["systemctl", "enable", "--now", "luot.service", "luot-rollup.timer", "luot-backup.timer"], check=True
        )
    else:
        click.echo(
            "then: systemctl daemon-reload && systemctl enable --now luot.service luot-rollup.timer luot-backup.timer"
        )
