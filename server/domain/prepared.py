"""Prebuilt Core statements that SQLite runs straight on the DBAPI connection (the clerk's hot path, issue 13).

A Core `connection.execute` costs about 15–25 µs of SQLAlchemy's own work per statement on the bench machine
(execution context, parameter and result set-up) against 5–8 µs for `sqlite3` itself; call next runs eight of
them on every key press. `Prepared` compiles its statement once for SQLite with SQLAlchemy (the SQL text, the
order of its parameters and the column types' own bind and result converters: `UTCDateTime`, JSON, dates) and,
on SQLite, executes the text on the transaction's DBAPI connection. Values go in and come out exactly as a Core
execution would convert them. Other dialects (PostgreSQL) take the ordinary `connection.execute`.

Shapes: `first(connection, params)` → the first row as a record (`types.SimpleNamespace`, the statement's column
names as attributes) or None; `values(connection, params)` → the first row's converted values as a list, or
None; `all(connection, params)` → every row as a record, in order; `run(connection,
params)` → None; `new_id(connection, params)` → the new row's id (an INSERT … RETURNING id). Errors: the DBAPI's
own are raised as SQLAlchemy's (`IntegrityError`, `OperationalError`, …), as a Core execution raises them, so the
Runner's handling holds on both paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: tuple[tuple[str, Converter | None, Any], ...]  # per `?`: name, bind converter or None, own value
    required: frozenset[str]  # the names the caller must give (those without a value of the statement's own)
    names: tuple[str, ...]  # result column names
    converted: tuple[tuple[int, Converter], ...]  # (column index, result converter) of the columns that have one


class Prepared:
    """One Core statement (SELECT, UPDATE or INSERT, its RETURNING columns if any) ready to run."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._sqlite: _Compiled | None = None

    def first(self, connection: Connection, params: Mapping[str, Any]) -> SimpleNamespace | None:
        """The first row of the result as a record, or None."""
        if connection.dialect.name != "sqlite":
            row = connection.execute(self.statement, dict(params)).first()
            return None if row is None else SimpleNamespace(**row._mapping)
        compiled = self._compiled(connection.dialect)
        cursor = self._execute(connection, compiled, params)
        values = cursor.fetchone()
        cursor.close()
        return None if values is None else record(compiled.names, _converted(compiled, values))

    def values(self, connection: Connection, params: Mapping[str, Any]) -> list[Any] | None:
        """The first row's values, converted, in the statement's column order; None for no row. For a caller that
        splits one row into several records (a join) without building the whole row's record first."""
        if connection.dialect.name != "sqlite":
            row = connection.execute(self.statement, dict(params)).first()
            return None if row is None else list(row)
        compiled = self._compiled(connection.dialect)
        cursor = self._execute(connection, compiled, params)
        values = cursor.fetchone()
        cursor.close()
        return None if values is None else _converted(compiled, values)

    def all(self, connection: Connection, params: Mapping[str, Any]) -> list[SimpleNamespace]:
        """Every row of the result as records, in the statement's order."""
        if connection.dialect.name != "sqlite":
            return [SimpleNamespace(**row._mapping) for row in connection.execute(self.statement, dict(params))]
        compiled = self._compiled(connection.dialect)
        cursor = self._execute(connection, compiled, params)
        rows = cursor.fetchall()
        cursor.close()
        return [record(compiled.names, _converted(compiled, values)) for values in rows]

    def run(self, connection: Connection, params: Mapping[str, Any]) -> None:
        """Executes the statement, its result (if any) unread."""
        if connection.dialect.name != "sqlite":
            connection.execute(self.statement, dict(params))
            return
        self._execute(connection, self._compiled(connection.dialect), params).close()

    def new_id(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """The `id` an INSERT … RETURNING id gave its new row."""
        row = self.first(connection, params)
        assert row is not None, "an INSERT … RETURNING id returns its row"
        return int(row.id)

    def _compiled(self, dialect: Dialect) -> _Compiled:
        if self._sqlite is None:
            self._sqlite = _compile(self.statement, dialect)
        return self._sqlite

    @staticmethod
    def _execute(connection: Connection, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        if not compiled.required <= params.keys():
            raise KeyError(", ".join(sorted(compiled.required - params.keys())))
        get = params.get
        values = [
            get(name, own) if convert is None else convert(get(name, own)) for name, convert, own in compiled.binds
        ]
        if not (connection.in_transaction() or driver_in_transaction(connection)):  # (`WriteTransaction`'s BEGIN)
            connection.begin()  # as a Core execution would (autobegin): on SQLite the engine's BEGIN
        return driver_execute(connection, compiled.sql, values)


def _converted(compiled: _Compiled, values: Sequence[Any]) -> list[Any]:
    """A row's values with the columns' result converters applied (those columns only)."""
    row = list(values)
    for index, convert in compiled.converted:
        row[index] = convert(row[index])
    return row


def record(names: Sequence[str], values: Sequence[Any]) -> SimpleNamespace:
    """A record with `names` as attributes holding `values` (as many of each)."""
    made = SimpleNamespace()
    made.__dict__.update(zip(names, values, strict=True))
    return made


def driver_execute(connection: Connection, sql: str, values: Sequence[Any] = ()) -> Any:
    """Runs `sql` on the connection's DBAPI connection as it is (no autobegin: the caller's transaction, or the
    engine's own BEGIN) and returns the DBAPI cursor; the DBAPI's errors are raised as SQLAlchemy's."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        return connection.connection.driver_connection.execute(sql, values)  # type: ignore[union-attr]
    except dbapi.Error as error:
        raise exc.DBAPIError.instance(sql, values, error, dbapi.Error) from error


def driver_in_transaction(connection: Connection) -> bool:
    """Whether the connection's DBAPI connection has a transaction open (one SQLAlchemy may not know of: begun with
    `driver_execute`); False for a closed or invalidated connection (asking it would connect it again)."""
    if connection.closed or connection.invalidated:
        return False
    return bool(getattr(connection.connection.driver_connection, "in_transaction", False))


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    """The statement's SQL text and converters. A name bound more than once (`now` in a claim) takes the converter
    of any occurrence that has one, as Core's execution does; expanding (IN lists) and callable parameters are
    refused here rather than sent wrong (none of the hot path's statements has one)."""
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    bind: dict[str, Converter] = {}
    own: dict[str, Any] = {}
    for parameter, name in compiled.bind_names.items():
        if parameter.expanding or parameter.callable is not None:
            raise ValueError(f"Prepared takes no expanding or callable parameter ({name})")
        convert = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            bind.setdefault(name, convert)
        if not parameter.required:
            own[name] = parameter.effective_value
    columns = list(statement.exported_columns)  # type: ignore[attr-defined]
    results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
    return _Compiled(
        sql=compiled.string,
        binds=tuple((name, bind.get(name), own.get(name)) for name in compiled.positiontup or ()),
        required=frozenset(name for name in compiled.positiontup or () if name not in own),
        names=tuple(column.name for column in columns),
        converted=tuple((index, convert) for index, convert in enumerate(results) if convert is not None),
    )
