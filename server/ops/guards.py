"""What `luot serve` checks before it listens, so that a mistake in the hall is an error message, not a hall whose
boards hear half of the calls.

- `ensure_port_free`: eventlet listens with SO_REUSEPORT, so a second server on the same port would start without
  a word and the kernel would split the clients between the two. A plain bind (SO_REUSEADDR only) fails while any
  socket listens there.
- `ServeLock`: two servers on one SQLite file without a message queue would each keep their own Socket.IO rooms and
  in-memory lines: each would miss the other's events. The first takes an exclusive `flock` on
  `<database>.serve.lock` for its lifetime (released by the kernel when it dies, even by SIGKILL).
- `check_revision`: the database must be at the code's Alembic head; a newer database (a downgrade of the code)
  or an older one (`luot upgrade` not run) is refused.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from pathlib import Path
from typing import IO

from server.settings import Settings


class Refusal(RuntimeError):
    """`luot serve` must not start; the message says why and what to do (shown as is)."""


def ensure_port_free(host: str, port: int) -> None:
    """Raises Refusal when something listens on host:port (or the address is not this machine's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Refusal(
                    f"port {port} on {host or '*'} is already in use (another `luot serve`, or another program: "
                    f"see `ss -ltnp 'sport = :{port}'`); stop it or choose another LUOT_PORT"
                ) from exc
            raise Refusal(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file of these settings, or None for another database."""
    if not settings.is_sqlite:
        return None
    return Path(settings.resolved_database_url.removeprefix("sqlite:///"))


class ServeLock:
    """Held by the one server of a SQLite file without a message queue (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> ServeLock | None:
        database = sqlite_path(settings)
        if database is None or settings.message_queue:
            return None  # PostgreSQL, or the scale-out setup where processes share events through Redis
        return cls(database.with_name(database.name + ".serve.lock"))

    def acquire(self) -> None:
        """Takes the lock or raises Refusal naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise Refusal(
                f"another Lượt server ({holder}) already serves {self.path.name.removesuffix('.serve.lock')}: "
                "two servers on one SQLite file would not hear each other's calls. Stop it first, or run several "
                "processes with LUOT_DATABASE_URL (PostgreSQL) and LUOT_MESSAGE_QUEUE (Redis)."
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the descriptor releases the flock
            self._handle = None


def database_revision(database_url: str) -> str | None:
    """The Alembic revision stamped in the database (None: not initialised)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def code_revisions() -> tuple[str, set[str]]:
    """(the code's head revision, every revision the code knows)."""
    from alembic.script import ScriptDirectory

    from server.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return scripts.get_current_head() or "", {script.revision for script in scripts.walk_revisions()}


def check_revision(database_url: str) -> str:
    """The database's revision when it is the code's head; Refusal otherwise, saying what to run. A database that
    cannot be read raises the driver's error, which server.ops.failures turns into its line (damaged, read-only,
    permission, not answering)."""
    if database_url.startswith("sqlite:///") and not Path(database_url.removeprefix("sqlite:///")).is_file():
        raise Refusal(f"no database at {database_url.removeprefix('sqlite:///')}: run `luot init` first")
    current = database_revision(database_url)
    head, known = code_revisions()
    if current == head:
        return current
    if current is None:
        raise Refusal("the database has no schema yet: run `luot init` first")
    if current not in known:
        raise Refusal(
            f"the database is at revision {current}, newer than this version of Lượt knows (head {head}): it was "
            "upgraded by a newer version. Install that version again, or restore a backup taken before the upgrade."
        )
    raise Refusal(f"the database is at revision {current}, this version needs {head}: run `luot upgrade` first")
