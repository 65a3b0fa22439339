"""Hot statements run straight on the SQLite driver.

On SQLite every write of a process takes turns on one lock (``db.WriterLock``),
and a lead's turns run about twenty statements. SQLAlchemy spends about 30 µs
executing each (cache key, execution context, result), the driver about 3, so
most of a short turn was our own bookkeeping while every other writer waited.

``Prepared`` wraps a Core statement and compiles it once per shape into what
SQLAlchemy would send: the SQL text, each parameter's position and type
conversion, the defaults of columns a caller leaves out, and the conversion
of each result column. ``run`` then binds and executes on the driver's
cursor, inside the connection's transaction. The same types convert the
values, so what is stored and read is what ``Connection.execute`` would
have stored and read.

It goes through ``Connection.execute`` instead when the statement needs
SQLAlchemy at run time (PostgreSQL, a list parameter expanded per call, a
write with no transaction begun yet) or when something listens to the
engine's statements (tests that count them, tracing), so nothing is hidden
from a listener.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, exc
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import ValuesBase
from sqlalchemy.sql.schema import Column
from sqlalchemy.sql.selectable import Select

_MISSING = object()


@dataclass(frozen=True)
class _Param:
    """One positional parameter: its name, conversion and value if not given."""

    name: str
    convert: Callable[[Any], Any] | None
    default: Any
    # A column default SQLAlchemy would compute (``Column(default=...)``).
    make_default: Callable[[], Any] | None


@dataclass(frozen=True)
class _Shape:
    """One statement compiled for SQLite with one set of parameter names."""

    sql: str
    params: tuple[_Param, ...]
    row: Any
    converters: tuple[Callable[[Any], Any] | None, ...]

    def bind(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for param in self.params:
            value = given.get(param.name, _MISSING)
            if value is _MISSING:
                if param.make_default is not None:
                    value = param.make_default()
                elif param.default is _MISSING:
                    raise exc.ArgumentError(
                        f"a value is required for parameter {param.name!r}"
                    )
                else:
                    value = param.default
            values.append(value if param.convert is None else param.convert(value))
        return tuple(values)

    def make_row(self, raw: Sequence[Any]) -> Any:
        if self.row is None:
            # Plain SQL with RETURNING: its columns are not described.
            return tuple(raw)
        return self.row._make(
            value if convert is None else convert(value)
            for convert, value in zip(self.converters, raw, strict=True)
        )


class Rows:
    """The rows of one driver execution, read as a SQLAlchemy result is.

    Read whole at once and the cursor closed: a statement left half read
    would keep the transaction from committing, and these return few rows.
    """

    def __init__(self, cursor: sqlite3.Cursor, shape: _Shape):
        raw = cursor.fetchall() if cursor.description is not None else []
        self.rowcount = cursor.rowcount
        cursor.close()
        self._rows = [shape.make_row(row) for row in raw]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any | None:
        rows = self._rows
        if len(rows) > 1:
            raise exc.MultipleResultsFound("more than one row where one was expected")
        return rows[0] if rows else None

    def one(self) -> Any:
        row = self.one_or_none()
        if row is None:
            raise exc.NoResultFound("no row where one was expected")
        return row

    def scalar(self) -> Any | None:
        row = self.first()
        return None if row is None else row[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any | None:
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]


class Prepared:
    """A Core statement that runs on the SQLite driver once compiled."""

    def __init__(self, statement: Executable):
        self.statement = statement
        # An INSERT or UPDATE compiles to the columns it is given, as
        # SQLAlchemy does: one shape per set of parameter names.
        self._per_keys = isinstance(statement, ValuesBase)
        # One read needs no transaction around it: it sees one snapshot.
        self._reads = isinstance(statement, Select)
        self._shapes: dict[tuple[str, ...], _Shape | None] = {}

    def run(
        self, on: Session | Connection, params: Mapping[str, Any] | None = None
    ) -> Any:
        """Execute with ``params``: a ``Rows`` on the driver, else SQLAlchemy's result.

        On a session, its pending changes are written first, as its own
        ``execute`` would, so the statement sees them.
        """
        conn = connection_of(on)
        params = params or {}
        shape = self._shape_for(conn, params)
        if shape is None:
            return conn.execute(self.statement, dict(params))
        args = shape.bind(params)
        try:
            cursor = _driver(conn).execute(shape.sql, args)
        except sqlite3.Error as error:
            raise _wrapped(conn, shape.sql, error) from error
        return Rows(cursor, shape)

    def run_many(
        self, on: Session | Connection, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Execute once per row of ``rows`` (every row with the same names)."""
        if not rows:
            return
        conn = connection_of(on)
        shape = self._shape_for(conn, rows[0])
        if shape is None or shape.row is not None:
            conn.execute(self.statement, [dict(row) for row in rows])
            return
        try:
            _driver(conn).executemany(shape.sql, [shape.bind(row) for row in rows])
        except sqlite3.Error as error:
            raise _wrapped(conn, shape.sql, error) from error

    def _shape_for(self, conn: Connection, params: Mapping[str, Any]) -> _Shape | None:
        if conn.dialect.name != "sqlite":
            return None
        if not (self._reads or conn.in_transaction()):
            return None
        dispatch = conn.dispatch
        if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
            return None
        keys = tuple(params) if self._per_keys else ()
        try:
            return self._shapes[keys]
        except KeyError:
            shape = self._shapes[keys] = _compile(self.statement, conn, keys)
            return shape


def connection_of(on: Session | Connection) -> Connection:
    """The connection to run a Core statement on, as the session would.

    Core statements skip the ORM's autoflush; this does what the session's
    own ``execute`` would (nothing inside ``session.no_autoflush``), so they
    see the same rows.
    """
    if isinstance(on, Connection):
        return on
    if on.autoflush:
        on.flush()
    return on.connection()


def _driver(conn: Connection) -> sqlite3.Connection:
    driver = conn.connection.driver_connection
    assert driver is not None  # a connection in a transaction has one
    return cast(sqlite3.Connection, driver)


def _compile(
    statement: Executable, conn: Connection, keys: tuple[str, ...]
) -> _Shape | None:
    """The SQLite shape of ``statement``; None if it needs SQLAlchemy per call."""
    dialect = conn.dialect
    compiled: Any = cast(Any, statement).compile(
        dialect=dialect, column_keys=list(keys) if keys else None
    )
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None
    if compiled.positiontup is None:
        return None

    converters = compiled._bind_processors
    made = _column_defaults(compiled)
    params = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.callable is not None or bind.expanding:
            return None
        default = _MISSING if bind.required else bind.value
        params.append(_Param(name, converters.get(name), default, made.get(name)))

    columns = compiled._result_columns
    row = _row_type([c.keyname for c in columns]) if columns else None
    result_converters = tuple(
        c.type._cached_result_processor(dialect, None) for c in columns
    )
    return _Shape(compiled.string, tuple(params), row, result_converters)


def _row_type(names: list[str]) -> type:
    """A tuple read by position, by name and as a mapping, as ``Row`` is."""
    base = namedtuple("Row", names, rename=True)  # type: ignore[misc]
    return type("Row", (base,), {"__slots__": (), "_mapping": property(base._asdict)})


def _column_defaults(compiled: Any) -> dict[str, Callable[[], Any]]:
    """Columns whose Python default or onupdate SQLAlchemy computes per row."""
    made = {c.key: _default_of(c, update=False) for c in compiled.insert_prefetch}
    for column in compiled.update_prefetch:
        made[column.key] = _default_of(column, update=True)
    return made


def _default_of(column: Column[Any], *, update: bool) -> Callable[[], Any]:
    default: Any = column.onupdate if update else column.default
    if default is None or not (default.is_scalar or default.is_callable):
        raise exc.ArgumentError(
            f"column {column.key!r} has a default Prepared cannot compute"
        )
    if default.is_scalar:
        value = default.arg
        return lambda: value
    # SQLAlchemy calls it with the execution context; ours ignore it.
    function = default.arg
    return lambda: function(None)


def _wrapped(conn: Connection, sql: str, error: sqlite3.Error) -> BaseException:
    """The error SQLAlchemy would raise (``IntegrityError`` for a unique key)."""
    return exc.DBAPIError.instance(
        sql, None, error, sqlite3.Error, hide_parameters=True, dialect=conn.dialect
    )
