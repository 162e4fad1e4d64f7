"""The `luot` subcommands (click)."""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

import click

from server.settings import Settings, load_settings


def _settings(**overrides: object) -> Settings:
    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


@click.group(help="Lượt — queue management for public-administration service centres.")
def cli() -> None:
    pass


def initialise(settings: Settings) -> None:
    """Creates the instance folder, the secret key (once) and the database schema (migrations)."""
    from server.migrate import upgrade

    settings.instance_path.mkdir(parents=True, exist_ok=True)
    secret = settings.instance_path / "secret_key"
    if not secret.exists():
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    upgrade(settings.resolved_database_url)


@cli.command()
def init() -> None:
    """Create the instance folder, secret key and database (safe to run again)."""
    settings = _settings()
    initialise(settings)
    click.echo(f"Instance ready: {settings.instance_path}")


@cli.command("seed-demo")
def seed_demo() -> None:
    """Create the demo province (20 agencies, 43 counters, demo users and devices)."""
    from server.db import Database
    from server.demo_data import seed_demo as seed

    settings = _settings()
    db = Database(settings)
    with db.write() as session:
        created = seed(session)
    db.dispose()
    click.echo("Demo data created." if created else "Demo data already present.")


@cli.command("demo-info")
def demo_info() -> None:
    """Print the demo URLs and logins."""
    from server.demo_data import DEMO_DEVICES, DEMO_PASSWORDS

    base = _settings().base_url
    click.echo(f"\nLượt demo is running at {base}\n")
    for device in DEMO_DEVICES:
        click.echo(f"  {device.name:<40} {base}{device.path}")
    click.echo(f"  {'Bàn làm việc cán bộ (counter console)':<40} {base}/counter/")
    click.echo(f"  {'Bảng điều khiển quản lý (dashboard)':<40} {base}/dashboard/")
    click.echo(f"  {'API (OpenAPI)':<40} {base}/api/v1/openapi.json\n")
    click.echo(f"  Logins: admin / {DEMO_PASSWORDS['admin']}, manager / {DEMO_PASSWORDS['manager']}, "
               f"clerk01 … clerk43 / {DEMO_PASSWORDS['clerk']}\n")


@cli.command()
@click.option("--host", default=None, help="Address to listen on (LUOT_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (LUOT_PORT).")
@click.option("--async-mode", type=click.Choice(["eventlet", "gevent", "threading"]), default=None)
def serve(host: str | None, port: int | None, async_mode: str | None) -> None:
    """Run the server (kiosks, boards, consoles, API and Socket.IO)."""
    from server.app import create_app, socketio_of

    settings = _settings(host=host, port=port, async_mode=async_mode)
    app = create_app(settings)
    socketio = socketio_of(app)
    click.echo(f"Lượt listening on http://{settings.host}:{settings.port} ({settings.async_mode})", err=True)
    kwargs: dict = {"host": settings.host, "port": settings.port}
    if settings.async_mode == "threading":
        kwargs["allow_unsafe_werkzeug"] = True
    else:
        kwargs["log_output"] = False
    socketio.run(app, **kwargs)


@cli.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["clerk", "manager", "admin"]), default="clerk")
@click.option("--site", "site_code", default=None, help="Site code; omit for province-level staff.")
@click.option("--full-name", default="")
@click.password_option()
def create_user(username: str, role: str, site_code: str | None, full_name: str, password: str) -> None:
    """Create a staff account."""
    from sqlmodel import select

    from server.db import Database
    from server.models import Site
    from server.provisioning import create_user as make_user

    db = Database(_settings())
    with db.write() as session:
        site = session.exec(select(Site).where(Site.code == site_code)).first() if site_code else None
        if site_code and site is None:
            raise click.ClickException(f"unknown site {site_code}")
        try:
            make_user(session, username, password, role, site, full_name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"User {username} ({role}) created.")


@cli.command()
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(destination: Path) -> None:
    """Copy the SQLite database to DESTINATION while the server keeps running (online backup)."""
    settings = _settings()
    if not settings.is_sqlite:
        raise click.ClickException("backup copies the SQLite database; use pg_dump for PostgreSQL")
    source_path = settings.resolved_database_url.removeprefix("sqlite:///")
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(destination)
    try:
        source.backup(target, pages=256)
        ok = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if ok != "ok":
        raise click.ClickException(f"backup integrity check failed: {ok}")
    click.echo(f"Backed up to {destination}")
