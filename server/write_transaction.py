"""A use case's write transaction, with an ORM Session only when the use case asks for one (issue 13).

The clerk's hot path (call next, start) and issuing run prebuilt statements on the transaction's connection
(`server.domain.rows`) and never touch the ORM, yet a `Session` around them cost about 70 µs of a call next on the
bench machine (its construction, autobegin, its commit's flush and events, its close: measured against the same
statements on the bare connection). `WriteTransaction` is what the Runner hands a use case in the Session's place:
`connection()` is the transaction's own connection; `info` and `identity_map` read as an untouched Session's; any
other attribute (`add`, `get`, `exec`, `flush`, …) makes the Session then, bound to the same connection and taking
over the transaction already begun on it (`join_transaction_mode="control_fully"`: its commit and rollback are the
transaction's), so a use case that mixes prebuilt statements and the ORM sees one transaction either way.

On SQLite (`begin` given: `server.db.begin_immediate`) the transaction of a use case that asks for the connection
only is begun and ended on the DBAPI connection itself: BEGIN IMMEDIATE at the first `connection()`, the driver's
COMMIT or ROLLBACK at the end. SQLAlchemy's own begin and commit around them cost about 40 µs of a call next on
the bench machine (its transaction objects and events, measured with timers in the running server), against the
same statements on the driver. A Core execution or a Session that comes later finds the driver's transaction
open and takes it over (`server.db`'s begin listener emits no second BEGIN then); its commit is the transaction's.

Shapes: `connection()` → `sqlalchemy.Connection`; `commit()` / `rollback()` end the transaction either way;
`close()` gives the connection back. Errors are the database's own (SQLAlchemy's exceptions, the driver's turned
into them as a Core execution turns them), as a Session raises them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session

from server.domain.prepared import driver_execute, driver_in_transaction


class WriteTransaction:
    """Stands in for a Session on one connection; the Session itself is made on first need (`session`)."""

    def __init__(
        self,
        connection: Connection,
        info: Mapping[str, Any],
        answered: Callable[[], None],
        begin: Callable[[Connection], None] | None = None,
        sending: Callable[[Connection], None] | None = None,
    ) -> None:
        self._connection = connection
        self._info = dict(info)
        self._answered = answered  # told when a COMMIT on the bare connection came back (`commit_outcome`)
        self._begin = begin  # begins a transaction on the DBAPI connection (SQLite); None: SQLAlchemy's autobegin
        self._sending = sending  # told before a COMMIT is sent on the DBAPI connection, as the engine's event is
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The ORM Session on this transaction's connection, made now if it was not yet."""
        if self._session is None:
            self._session = Session(
                bind=self._connection,
                expire_on_commit=False,
                info=self._info,
                join_transaction_mode="control_fully",
            )
        return self._session

    def connection(self, *args: Any, **kwargs: Any) -> Connection:
        """The transaction's connection (the Session's, once there is one), its transaction begun."""
        if self._session is not None:
            return self._session.connection(*args, **kwargs)
        if self._begin is not None and not self.in_transaction():
            self._begin(self._connection)
        return self._connection

    def get_bind(self, *args: Any, **kwargs: Any) -> Connection:
        return self._connection

    @property
    def info(self) -> dict[str, Any]:
        return self._info if self._session is None else self._session.info

    @property
    def identity_map(self) -> Any:
        """The Session's loaded objects; none when no Session was made."""
        return {} if self._session is None else self._session.identity_map

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def in_transaction(self) -> bool:
        session = self._session is not None and self._session.in_transaction()
        return session or self._connection.in_transaction() or driver_in_transaction(self._connection)

    def commit(self) -> None:
        """Commits what was written (the Session's pending changes flushed first, when there is a Session). What
        the connection began before a Session that never began its own (made for `expunge_all`, `no_autoflush`,
        …: it has nothing to commit) is committed too: a Session's commit alone would leave it to be rolled back."""
        if self._session is not None:
            self._session.commit()
        if self._connection.in_transaction():
            self._connection.commit()
            self._answered()
        elif driver_in_transaction(self._connection):
            if self._sending is not None:
                self._sending(self._connection)
            driver_execute(self._connection, "COMMIT")
            self._answered()

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        if self._connection.in_transaction():
            self._connection.rollback()
        elif driver_in_transaction(self._connection):
            driver_execute(self._connection, "ROLLBACK")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
