"""Engine, SQLite pragmas and transactions.

SQLite rules (architecture.md): writes go through one cooperative lock per process (green-aware once
eventlet/gevent have patched threading) and start with BEGIN IMMEDIATE, so a writer never waits on
SQLite's lock inside C while holding the hub; nothing does I/O inside a transaction.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from server import commit_outcome
from server.domain.prepared import driver_execute, driver_in_transaction
from server.settings import Settings
from server.write_transaction import WriteTransaction

log = logging.getLogger(__name__)


def private_sqlite_files(path: str) -> None:
    """The database file, its WAL and shared-memory files readable by the server's user only (0600), like the
    secret key: created so before SQLite opens it (SQLite gives -wal and -shm the database file's mode), and
    tightened if an existing one is wider."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    database = Path(path)
    if database.parent.is_dir() and not database.exists():
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for candidate in (database, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)
        except FileNotFoundError:
            continue


class Database:
    """Owns the engine and hands out read sessions and write transactions."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.resolved_database_url
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock = threading.RLock()
        self._writer: Connection | None = None  # SQLite's write connection, kept (`_write_connection`)
        self._writer_busy = False
        self._connect_args = {} if self.is_sqlite else postgresql_timeouts(settings.db_timeout)
        self.engine = self._create_engine(settings)
        commit_outcome.watch(self.engine)  # a COMMIT that never heard back is "unconfirmed", not "nothing recorded"
        #: Called after a commit that saved catalogue rows (sites, agencies, services, counters, sequences) outside
        #: the queue use cases, with the ids of the sites concerned (None: can't tell which).
        self.catalogue_watchers: list[Callable[[set[int | None]], None]] = []

    def _create_engine(self, settings: Settings) -> Engine:
        if self.is_sqlite:
            private_sqlite_files(self.url.removeprefix("sqlite:///"))
            engine = sa.create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_pool_size * 2,
                pool_timeout=10,
            )
            _install_sqlite_pragmas(engine, settings.sqlite_synchronous.upper())
            return engine
        return sa.create_engine(
            self.url,
            connect_args=postgresql_timeouts(settings.db_timeout),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            pool_timeout=settings.db_timeout,
            pool_pre_ping=True,
        )

    @contextmanager
    def probe(self) -> Iterator[Any]:
        """A connection for a health check: PostgreSQL's is new (not pooled), so a hung server fails it within
        the connect timeout instead of holding a pooled connection; SQLite's is a pooled one."""
        if self.is_sqlite:
            with self.engine.connect() as conn:
                yield conn
            return
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool, connect_args=self._connect_args)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with Session(self.engine, expire_on_commit=False, info=self._info()) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: serialised in-process for SQLite, BEGIN IMMEDIATE, committed once."""
        with self.transaction() as transaction:
            yield transaction.session

    @contextmanager
    def transaction(self) -> Iterator[WriteTransaction]:
        """One write transaction: serialised in-process for SQLite, BEGIN IMMEDIATE, committed once (unless the
        caller did); the ORM Session is made only if the caller asks for more than the connection
        (`server.write_transaction`). SQLite's writes share one connection kept between them (`_writer`)."""
        lock = self._write_lock if self.is_sqlite else _NullLock()
        # One wait for the whole write: this process's earlier writes (the lock here) and another process's lock on
        # the file (`begin_immediate`) share WRITE_LOCK_WAIT_SECONDS. Each waiting its own 30 s behind the one before
        # answered a third tap after 90 s, long after the kiosk had given up (found from outside).
        deadline = time.monotonic() + WRITE_LOCK_WAIT_SECONDS
        with _held(lock, deadline), self._write_connection() as conn:
            conn.info[WRITE_DEADLINE] = deadline  # `begin_immediate` waits until then at most
            begin = begin_immediate if self.is_sqlite else None  # SQLite: begun and ended on the driver
            transaction = WriteTransaction(conn, self._info(), commit_outcome.answered, begin, commit_outcome.sending)
            spent = False  # the connection may be in a state no later write should inherit
            try:
                yield transaction
                if transaction.in_transaction():  # the caller may have committed already
                    transaction.commit()
            except BaseException as error:
                # A database error (a failed COMMIT on a full disk, a BEGIN that timed out) can leave SQLAlchemy's
                # side of the connection unusable though its rollback succeeds (an inactive transaction still
                # held; a begin flag left set): the kept connection is not reused after one.
                spent = isinstance(error, sa.exc.SQLAlchemyError)
                try:
                    transaction.rollback()
                except Exception:  # a connection the first error broke: the pool drops it; that error is the news
                    log.warning("rollback after a failed write transaction failed too", exc_info=True)
                    spent = True
                raise
            finally:
                transaction.close()
                if spent or conn.get_transaction() is not None or driver_in_transaction(conn):
                    self._drop_writer(conn)

    @contextmanager
    def _write_connection(self) -> Iterator[Connection]:
        """The connection of one write transaction (the caller holds the write lock on SQLite).

        SQLite: one connection kept from write to write, made again after a database error. Taking a pooled one per
        write cost its checkout, reset and checkin on every key press (issue 13), and each write would find its
        page cache stale after another connection's write; writes are serialised here anyway. A transaction begun
        inside another on the same thread (nothing does so today) gets a pooled connection as before.
        PostgreSQL: a pooled connection per transaction (writers run concurrently there)."""
        if not self.is_sqlite or self._writer_busy:
            with self.engine.connect() as conn:
                yield conn.execution_options(luot_write=True)
            return
        kept = self._writer
        if kept is None or kept.closed or kept.invalidated:
            if kept is not None:
                kept.close()  # an invalidated one still holds its place in the pool until closed
            kept = self._writer = self.engine.connect().execution_options(luot_write=True)
        conn = kept
        if conn.get_transaction() is not None:  # left by an interrupted write (active or not): nothing committed
            conn.rollback()
        if driver_in_transaction(conn):  # the same, begun on the driver
            driver_execute(conn, "ROLLBACK")
        self._writer_busy = True
        try:
            yield conn
        finally:
            self._writer_busy = False

    def _drop_writer(self, conn: Connection) -> None:
        """Closes the kept write connection after an error (it may be unusable); the next write makes another."""
        if conn is self._writer:
            self._writer = None
            try:
                conn.invalidate()  # its DBAPI connection is closed, not given back to the pool for another use
                conn.close()  # and its place in the pool freed
            except Exception:  # already gone with the error
                log.debug("the spent write connection could not be closed", exc_info=True)

    def _info(self) -> dict[str, Any]:
        return {CATALOGUE_WATCHERS: self.catalogue_watchers}

    def dispose(self) -> None:
        """Closes every connection, the kept write connection with them."""
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self.engine.dispose()


def postgresql_timeouts(seconds: float) -> dict[str, Any]:
    """libpq options bounding what a dead or hung PostgreSQL can cost a request (issue 19, item 6).

    connect_timeout: the whole connection start-up (whole seconds, at least 2); keepalives and tcp_user_timeout:
    a host that vanished (unacknowledged data) breaks the connection after ~`seconds`; statement_timeout (server
    side): no statement runs longer than 6 × `seconds` (30 s by default), so a lock queue cannot hold requests.
    """
    whole = max(2, math.ceil(seconds))
    return {
        "connect_timeout": whole,
        "keepalives": 1,
        "keepalives_idle": whole,
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": int(seconds * 1000),
        "options": f"-c statement_timeout={int(seconds * 6000)}",
    }


CATALOGUE_WATCHERS = "luot_catalogue_watchers"
USE_CASE = "luot_use_case"  # set by the Runner: its changes reach the lines as events, not as catalogue edits
_CATALOGUE_SITES = "luot_catalogue_sites"


def _catalogue_site(obj: Any) -> int | bool | None:
    """The site a saved catalogue row belongs to; None when it can't tell; False for other rows."""
    from server.models import Agency, Counter, CounterService, Holiday, NumberSequence, Service, Site

    if isinstance(obj, Site):
        return obj.id
    if isinstance(obj, Agency | Service | Counter | NumberSequence | Holiday):
        return obj.site_id
    if isinstance(obj, CounterService):
        return None
    return False


@event.listens_for(Session, "after_flush")
def _collect_catalogue_changes(session: Session, _context: Any) -> None:
    if session.info.get(USE_CASE) or CATALOGUE_WATCHERS not in session.info:
        return
    touched = session.info.setdefault(_CATALOGUE_SITES, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        site = _catalogue_site(obj)
        if site is not False:
            touched.add(site)


@event.listens_for(Session, "after_commit")
def _announce_catalogue_changes(session: Session) -> None:
    touched = session.info.pop(_CATALOGUE_SITES, None)
    if touched:
        for watcher in session.info.get(CATALOGUE_WATCHERS, ()):
            watcher(touched)


class _NullLock:
    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        return None


@contextmanager
def _held(lock: Any, deadline: float) -> Iterator[None]:
    """`lock` held until the block ends, waited for until `deadline` (time.monotonic()) at most; after that the
    database's "database is locked" (OperationalError), as `begin_immediate` raises it when its wait is over."""
    if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
        raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
    try:
        yield
    finally:
        lock.release()


def _install_sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight on the DBAPI connection: every read and write transaction begins here, and a Core execution
        # costs several times sqlite3's own work (issue 13). Its errors are raised as a Core execution's would be.
        if driver_in_transaction(conn):  # begun on the driver (`WriteTransaction`): SQLAlchemy takes it over
            return
        if conn.get_execution_options().get("luot_write"):
            begin_immediate(conn)
        else:
            driver_execute(conn, "BEGIN DEFERRED")


#: How long SQLite itself may wait for a lock, in C (ms): under eventlet or gevent that wait holds the only OS
#: thread, every request and socket of the process with it; kept short, the long wait is `begin_immediate`'s.
BUSY_TIMEOUT_MS = 10
#: How long a write waits for another process's write lock before it is refused (503), in seconds.
WRITE_LOCK_WAIT_SECONDS = 30.0


#: `Connection.info` key: when the write transaction on that connection stops waiting for a lock (time.monotonic()).
WRITE_DEADLINE = "luot_write_deadline"


def begin_immediate(conn: Any, wait: float | None = None) -> None:
    """BEGIN IMMEDIATE, waiting for another process's write lock (a CLI command, a second server on the file) with
    `time.sleep` between tries — a green sleep under eventlet/gevent, so the rest of the process keeps answering —
    up to `wait` seconds, or (None) until the deadline `Database.transaction` set on the connection
    (`WRITE_DEADLINE`), or WRITE_LOCK_WAIT_SECONDS. One try is always made. Raises the database's OperationalError
    ("database is locked") when the wait is over."""
    deadline = conn.info.get(WRITE_DEADLINE) if wait is None else None
    if deadline is None:
        deadline = time.monotonic() + (WRITE_LOCK_WAIT_SECONDS if wait is None else wait)
    pause = 0.002
    while True:
        try:
            driver_execute(conn, "BEGIN IMMEDIATE")
            return
        except sa.exc.OperationalError as error:
            if not _busy(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _busy(error: sa.exc.OperationalError) -> bool:
    """Whether SQLite refused for a lock held elsewhere (SQLITE_BUSY or SQLITE_LOCKED, extended codes included)."""
    return getattr(error.orig, "sqlite_errorcode", 0) & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
