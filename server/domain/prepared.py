"""Prebuilt Core statements that SQLite runs straight on the DBAPI connection (the clerk's hot path, issue 13).

A Core `connection.execute` costs about 15–25 µs of SQLAlchemy's own work per statement on the bench machine
(execution context, parameter and result set-up) against 5–8 µs for `sqlite3` itself; call next runs eight of
them on every key press. `Prepared` compiles its statement once for SQLite with SQLAlchemy (the SQL text, the
order of its parameters and the column types' own bind and result converters: `UTCDateTime`, JSON, dates) and,
on SQLite, executes the text on the transaction's DBAPI connection. Values go in and come out exactly as a Core
execution would convert them. Other dialects (PostgreSQL) take the ordinary `connection.execute`.

Shapes: `first(connection, params)` → the first row as a record (`types.SimpleNamespace`, the statement's column
names as attributes) or None; `all(connection, params)` → every row as a record, in order; `run(connection,
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
    order: tuple[str, ...]  # parameter names in the order of the statement's `?`
    fixed: dict[str, Any]  # the statement's own literal parameters (a status compared with, …)
    bind: dict[str, Converter]  # parameter name → the column type's bind converter
    names: tuple[str, ...]  # result column names
    result: tuple[Converter | None, ...]  # per result column: the type's result converter, or None


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
        return None if values is None else self._record(compiled, values)

    def all(self, connection: Connection, params: Mapping[str, Any]) -> list[SimpleNamespace]:
        """Every row of the result as records, in the statement's order."""
        if connection.dialect.name != "sqlite":
            return [SimpleNamespace(**row._mapping) for row in connection.execute(self.statement, dict(params))]
        compiled = self._compiled(connection.dialect)
        cursor = self._execute(connection, compiled, params)
        rows = cursor.fetchall()
        cursor.close()
        return [self._record(compiled, values) for values in rows]

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

    @staticmethod
    def _record(compiled: _Compiled, values: Sequence[Any]) -> SimpleNamespace:
        return SimpleNamespace(
            **{
                name: value if convert is None else convert(value)
                for name, convert, value in zip(compiled.names, compiled.result, values, strict=True)
            }
        )

    def _compiled(self, dialect: Dialect) -> _Compiled:
        if self._sqlite is None:
            self._sqlite = _compile(self.statement, dialect)
        return self._sqlite

    @staticmethod
    def _execute(connection: Connection, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = []
        for name in compiled.order:
            value = params[name] if name in params else compiled.fixed[name]
            convert = compiled.bind.get(name)
            values.append(value if convert is None else convert(value))
        if not connection.in_transaction():
            connection.begin()  # as a Core execution would (autobegin): on SQLite the engine's BEGIN
        return driver_execute(connection, compiled.sql, values)


def driver_execute(connection: Connection, sql: str, values: Sequence[Any] = ()) -> Any:
    """Runs `sql` on the connection's DBAPI connection as it is (no autobegin: the caller's transaction, or the
    engine's own BEGIN) and returns the DBAPI cursor; the DBAPI's errors are raised as SQLAlchemy's."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        return connection.connection.driver_connection.execute(sql, values)  # type: ignore[union-attr]
    except dbapi.Error as error:
        raise exc.DBAPIError.instance(sql, values, error, dbapi.Error) from error


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    """The statement's SQL text and converters. A name bound more than once (`now` in a claim) takes the converter
    of any occurrence that has one, as Core's execution does; expanding (IN lists) and callable parameters are
    refused here rather than sent wrong (none of the hot path's statements has one)."""
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    order = tuple(compiled.positiontup or ())
    bind: dict[str, Converter] = {}
    fixed: dict[str, Any] = {}
    for parameter, name in compiled.bind_names.items():
        if parameter.expanding or parameter.callable is not None:
            raise ValueError(f"Prepared takes no expanding or callable parameter ({name})")
        convert = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            bind.setdefault(name, convert)
        if not parameter.required:
            fixed[name] = parameter.effective_value
    columns = list(statement.exported_columns)  # type: ignore[attr-defined]
    return _Compiled(
        sql=compiled.string,
        order=order,
        fixed=fixed,
        bind=bind,
        names=tuple(column.name for column in columns),
        result=tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns),
    )
