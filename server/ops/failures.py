"""One line for each failure a `luot` command (or `luot doctor`) meets outside the web server, instead of a Python
traceback: what failed, the likely cause and what to do.

`explain(exc)` knows these classes: a setting that cannot be used (server.settings.SettingsError), a refusal
(server.ops.guards.Refusal), a file or folder the disk refuses (OSError: permission, read-only disk, full disk,
missing folder), the database refusing (sqlite3 and SQLAlchemy OperationalError/DatabaseError: damaged, not
initialised, read-only, locked, unreachable) and a file that is not UTF-8 text. Anything else is a bug and
`explain` returns None: its traceback is the bug report. `LuotGroup` is the `luot` click group that applies it to
every command.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from server.settings import Settings, SettingsError

#: sqlite3 messages (lower case, as found in the message) → the kind of failure.
SQLITE_CAUSES: tuple[tuple[str, str], ...] = (
    ("database disk image is malformed", "damaged"),
    ("file is not a database", "damaged"),
    ("no such table", "not_initialised"),
    ("readonly database", "read_only"),
    ("unable to open database file", "cannot_open"),
    ("database is locked", "locked"),
    ("disk is full", "full"),
    ("disk i/o error", "io"),
)


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _owner(path: Path) -> tuple[Path, str] | None:
    """The nearest of path and its folders that this user can look at, and its owner's name."""
    import pwd

    for candidate in (path, *path.parents):
        try:
            uid = candidate.stat().st_uid
        except OSError:
            continue
        try:
            return candidate, pwd.getpwuid(uid).pw_name
        except KeyError:
            return candidate, f"uid {uid}"
    return None


def on_read_only_disk(path: Path) -> bool:
    for candidate in (path, *path.parents):
        try:
            return bool(os.statvfs(candidate).f_flag & os.ST_RDONLY)
        except OSError:
            continue
    return False


def _instance_of(settings: Settings | None, path: Path) -> Path:
    if settings is not None and (path == settings.instance_path or settings.instance_path in path.parents):
        return settings.instance_path
    return path.parent


def read_only_line(path: Path, settings: Settings | None) -> str:
    instead = (
        "set LUOT_INSTANCE_DIR to a folder on a writable disk"
        if settings is not None and _instance_of(settings, path) == settings.instance_path
        else "choose a folder on a writable disk"
    )
    return (
        f"{path}: the disk is read-only (mounted read-only, or remounted so after disk errors: see dmesg): "
        f"remount it read-write, or {instead}"
    )


def permission_line(path: Path, settings: Settings | None) -> str:
    """Names the user, the owner of what refused and what to do: run luot as that owner, or (for the instance
    folder only: never for a system folder such as /etc) give the folder to this user."""
    user = _user()
    owned = _owner(path)
    whose, run_as = (
        ("", "the user that owns it") if owned is None else (f" ({owned[0]} belongs to {owned[1]})", owned[1])
    )
    how = "sudo luot …" if run_as == "root" else f"sudo -u {run_as} luot …"
    line = f"{path}: permission denied for user {user}{whose}: run luot as {run_as} ({how})"
    if settings is not None and _instance_of(settings, path) == settings.instance_path:
        line += f", or give the instance folder to {user}: chown -R {user} {settings.instance_path}"
    return line


def _database_path(settings: Settings | None) -> Path | None:
    if settings is None or not settings.is_sqlite:
        return None
    return Path(settings.resolved_database_url.removeprefix("sqlite:///"))


def database_line(message: str, settings: Settings | None, sqlite: bool = True) -> str:
    """The line for a database error's message (the driver's, first line) about the database of `settings`."""
    first = message.strip().splitlines()[0] if message.strip() else message
    if not sqlite:
        return f"the database does not answer ({first}): is PostgreSQL running, and is LUOT_DATABASE_URL right?"
    database = _database_path(settings)
    name = str(database) if database is not None else "the database"
    cause = next((kind for text, kind in SQLITE_CAUSES if text in first.lower()), None)
    if cause == "damaged":
        return f"{name}: the database is damaged ({first}): `luot restore` the newest backup"
    if cause == "not_initialised":
        return f"{name} holds no Lượt tables ({first}): run `luot init` (or check LUOT_INSTANCE_DIR)"
    if cause == "locked":
        return f"{name} is busy ({first}): another program holds it; run the command again when it has finished"
    if cause == "full":
        return f"{name}: the disk is full: free some space, then run the command again"
    if cause == "io":
        return f"{name}: the disk reported an input/output error: check the disk (dmesg), then `luot doctor`"
    if cause in ("read_only", "cannot_open") and database is not None:
        try:
            database.parent.stat()
        except FileNotFoundError:
            return f"{database.parent} does not exist: run `luot init` (or check LUOT_INSTANCE_DIR)"
        except OSError:
            return permission_line(database, settings)
        if on_read_only_disk(database):
            return read_only_line(database, settings)
        if not _accessible(database, write=cause == "read_only"):
            return permission_line(database, settings)
    return f"{name}: the database refused ({first})"


def _accessible(database: Path, write: bool) -> bool:
    mode = os.R_OK | (os.W_OK if write else 0)
    folder_ok = os.access(database.parent, os.X_OK | (os.W_OK if write else 0))
    return folder_ok and (not os.path.lexists(database) or os.access(database, mode))


def os_line(exc: OSError, settings: Settings | None) -> str | None:
    if exc.filename is None:
        return None
    path = Path(os.fsdecode(exc.filename))
    if exc.errno == errno.EROFS:
        return read_only_line(path, settings)
    if isinstance(exc, PermissionError):
        return permission_line(path, settings)
    if exc.errno == errno.ENOSPC:
        return f"{path}: the disk is full: free some space, then run the command again"
    if isinstance(exc, FileNotFoundError):
        if not path.parent.exists():
            return f"{path}: the folder {path.parent} does not exist"
        return f"{path}: no such file"
    if isinstance(exc, IsADirectoryError):
        return f"{path} is a folder, not a file"
    return f"{path}: {exc.strerror or exc}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def explain(exc: BaseException, settings: Settings | None = None) -> str | None:
    """One line for a known failure (this exception or one it was raised from), None for anything else."""
    for each in _chain(exc):
        line = _explain_one(each, settings if settings is not None else _settings_or_none())
        if line is not None:
            return line
    return None


def _settings_or_none() -> Settings | None:
    from server.settings import load_settings

    try:
        return load_settings()
    except SettingsError:
        return None


def _explain_one(exc: BaseException, settings: Settings | None) -> str | None:
    from sqlalchemy.exc import DBAPIError

    from server.ops.guards import Refusal

    if isinstance(exc, SettingsError | Refusal):
        return str(exc)
    app = sys.modules.get("server.app")  # its NotInitialised (no secret key) can only come once it is imported
    if app is not None and isinstance(exc, app.NotInitialised):
        return str(exc)
    if isinstance(exc, DBAPIError):
        exc = exc.orig if isinstance(exc.orig, BaseException) else exc
    if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
        return database_line(str(exc), settings)
    if _is_postgresql_unreachable(exc):
        return database_line(str(exc), settings, sqlite=False)
    if isinstance(exc, OSError):
        return os_line(exc, settings)
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8"
    return None


def _is_postgresql_unreachable(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, psycopg.OperationalError)


class LuotGroup(click.Group):
    """The `luot` group: a known failure of any of its commands ends as one `Error: …` line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            line = explain(exc)
            if line is None:
                raise
            raise click.ClickException(line) from exc
