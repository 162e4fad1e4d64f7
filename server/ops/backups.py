"""Backups, restore and upgrades of the SQLite database (PostgreSQL: pg_dump and the same migrations).

- `backup_to(source, destination)`: SQLite's online backup API, so the server keeps serving; the copy is checked
  with `PRAGMA integrity_check`.
- `backup_into(source, folder, keep)`: a dated file `luot-YYYYMMDD-HHMMSS.sqlite3` in `folder`, then the oldest
  dated files beyond `keep` are deleted (the nightly timer).
- `restore_from(backup, database, lock)`: refuses while a server holds the SQLite file, checks the backup, then
  replaces the database in one rename.
- `upgrade_database(settings, folder)`: refuses a database newer than the code, takes a backup, runs Alembic.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from server.clock import LOCAL_TZ
from server.ops.guards import Refusal, ServeLock, code_revisions, database_revision, sqlite_path
from server.settings import Settings

BACKUP_PATTERN = "luot-*.sqlite3"


def backup_to(source: Path, destination: Path) -> Path:
    """Copies the live SQLite file `source` to `destination` in one step inside one read snapshot (WAL: writers
    keep going; a copy in small steps starts again whenever another connection writes, and never ends on a busy
    server). The copy is mode 0600 like the database. Raises Refusal when it fails its integrity check."""
    from server.db import private_sqlite_files

    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    private_sqlite_files(str(partial))  # every ticket and account: readable by the server's user only
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writer = sqlite3.connect(partial)
    try:
        reader.backup(writer, pages=-1)
        ok = writer.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        writer.close()
        reader.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        raise Refusal(f"backup integrity check failed: {ok}")
    os.replace(partial, destination)
    return destination


def local_stamp(now: datetime | None = None) -> str:
    """A backup's name stamp in the centre's local time (Asia/Ho_Chi_Minh), like the timer that takes it at
    01:00: the backup of 01:00 on 2 December is luot-20261202-010000, whatever the machine's zone. A naive
    `now` is taken as local already."""
    now = now or datetime.now(UTC)
    return (now.astimezone(LOCAL_TZ) if now.tzinfo is not None else now).strftime("%Y%m%d-%H%M%S")


def backup_into(source: Path, folder: Path, keep: int, now: datetime | None = None) -> tuple[Path, list[Path]]:
    """(the new dated backup in `folder`, the old ones deleted so that `keep` remain)."""
    stamp = local_stamp(now)
    made = backup_to(source, folder / f"luot-{stamp}.sqlite3")
    dated = sorted(folder.glob(BACKUP_PATTERN))  # the stamp sorts as time does
    removed = dated[: max(len(dated) - keep, 0)] if keep > 0 else []
    for old in removed:
        old.unlink()
    return made, removed


def count_rows(database: Path, table: str) -> int:
    """Rows of one table of a SQLite file (restore checks, tests)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    finally:
        connection.close()


def restore_from(backup: Path, settings: Settings) -> Path:
    """Replaces the instance's SQLite database with `backup`. Raises Refusal while a server runs on it, when the
    backup is damaged, or when it comes from a newer Lượt than this one."""
    database = sqlite_path(settings)
    if database is None:
        raise Refusal("restore replaces the SQLite database; for PostgreSQL use pg_restore")
    connection = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        ok = connection.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise Refusal(f"{backup} is not a SQLite database: {exc}") from exc
    finally:
        connection.close()
    if ok != "ok":
        raise Refusal(f"{backup} fails its integrity check: {ok}")
    revision = database_revision(f"sqlite:///{backup}")
    if revision is None or revision not in code_revisions()[1]:
        raise Refusal(f"{backup} is at revision {revision}, which this version of Lượt does not know")
    lock = ServeLock(database.with_name(database.name + ".serve.lock"))
    lock.acquire()  # Refusal while a server runs on the database; held until the file is in place
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        backup_to(backup, database.with_name(database.name + ".restoring"))
        for suffix in ("-wal", "-shm"):  # the old database's journal must not be replayed on the new one
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        os.replace(database.with_name(database.name + ".restoring"), database)
    finally:
        lock.release()
    return database


@dataclass(frozen=True)
class Upgrade:
    before: str | None
    after: str
    backup: Path | None


def upgrade_database(settings: Settings, folder: Path) -> Upgrade:
    """Backs up (SQLite) into `folder`, then migrates to the code's head. Raises Refusal for a database newer
    than the code, or while a server runs on the SQLite file."""
    from server.migrate import upgrade

    url = settings.resolved_database_url
    database = sqlite_path(settings)
    if database is not None and not database.exists():
        raise Refusal(f"{database} does not exist: run `luot init` for a new instance")
    before = database_revision(url)
    head, known = code_revisions()
    if before is not None and before not in known:
        raise Refusal(f"the database is at revision {before}, newer than this version of Lượt (head {head})")
    made: Path | None = None
    lock = ServeLock(database.with_name(database.name + ".serve.lock")) if database is not None else None
    if lock is not None:
        lock.acquire()  # migrations under a running server would change the schema beneath it
    try:
        if database is not None and before != head:
            stamp = local_stamp()
            made = backup_to(database, folder / f"pre-upgrade-{before or 'empty'}-{stamp}.sqlite3")
        upgrade(url)
    finally:
        if lock is not None:
            lock.release()
    return Upgrade(before, database_revision(url) or "", made)
