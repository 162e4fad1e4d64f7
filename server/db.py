"""Engine, SQLite pragmas and transactions.

SQLite rules (architecture.md): writes go through one cooperative lock per process (green-aware once
eventlet/gevent have patched threading) and start with BEGIN IMMEDIATE, so a writer never waits on
SQLite's lock inside C while holding the hub; nothing does I/O inside a transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.settings import Settings


class Database:
    """Owns the engine and hands out read sessions and write transactions."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.resolved_database_url
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock = threading.RLock()
        self.engine = self._create_engine(settings)

    def _create_engine(self, settings: Settings) -> Engine:
        if self.is_sqlite:
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
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            pool_timeout=10,
            pool_pre_ping=True,
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: serialised in-process for SQLite, BEGIN IMMEDIATE, committed once."""
        lock = self._write_lock if self.is_sqlite else _NullLock()
        with lock, self.engine.connect() as conn:
            conn = conn.execution_options(luot_write=True)
            with Session(bind=conn, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise

    def dispose(self) -> None:
        self.engine.dispose()


class _NullLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _install_sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("luot_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")
