"""The instance folder: created with its secret key (once) and the database schema brought up to date."""

from __future__ import annotations

import os
import secrets

from server.settings import Settings


def initialise(settings: Settings) -> None:
    """Creates the instance folder, the secret key (once, mode 0600) and the database schema (migrations).
    Safe to run again."""
    from server.migrate import upgrade

    settings.instance_path.mkdir(parents=True, exist_ok=True)
    secret = settings.instance_path / "secret_key"
    if not secret.exists():
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    if settings.is_sqlite:
        from server.db import private_sqlite_files

        private_sqlite_files(settings.resolved_database_url.removeprefix("sqlite:///"))  # before Alembic creates it
    upgrade(settings.resolved_database_url)
