"""Insert many rows on PostgreSQL in one statement whose text never changes.

SQLAlchemy's multi-row INSERT for ``executemany ... RETURNING`` writes one
VALUES tuple per row, so every group size is a new statement: psycopg
re-parses it each time (statements that long are not cached), and that
parse cost more than the insert itself in the accept writer's profile.
Here the rows travel as one JSON array parameter and PostgreSQL unpacks
them with ``jsonb_to_recordset``: one short statement, parsed once, for any
number of rows. Values go through each column's own bind processing first,
so what is stored is what the ORM would have stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Table, TextClause, text
from sqlalchemy.dialects import postgresql

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


class Records:
    """Rows of ``table`` as the JSON array text ``jsonb_to_recordset`` reads.

    ``names`` and ``types`` are the SQL lists for ``INSERT INTO t (names)``
    and ``AS r(types)``; ``encode`` turns rows into the parameter.
    """

    def __init__(self, table: Table, columns: Sequence[str]):
        self._columns = [table.c[name] for name in columns]
        self.names = ", ".join(f'"{column.name}"' for column in self._columns)
        self.types = ", ".join(
            f'"{column.name}" {column.type.compile(dialect=_DIALECT)}'
            for column in self._columns
        )
        # JSON columns stay nested JSON inside the array; their own processor
        # would turn them into strings.
        self._processors = [
            (
                column.name,
                None
                if isinstance(column.type.dialect_impl(_DIALECT), JSON)
                else column.type.bind_processor(_DIALECT),
            )
            for column in self._columns
        ]

    def encode(
        self,
        rows: Sequence[dict[str, Any]],
        extra: Sequence[dict[str, Any]] | None = None,
    ) -> str:
        """The JSON text of ``rows``; ``extra[i]`` adds keys to row ``i``."""
        records = [self._record(row) for row in rows]
        if extra is not None:
            for record, more in zip(records, extra, strict=True):
                record.update(more)
        payload = json.dumps(records, default=_iso)
        # JSONB refuses U+0000 even escaped, at any depth (text refuses it
        # too): swap the escape for U+FFFD in the text, unless its backslash
        # is itself escaped (an odd run of backslashes before "u0000").
        if "u0000" in payload:
            payload = _ESCAPED_NUL.sub(r"\1\\ufffd", payload)
        return payload

    def _record(self, row: dict[str, Any]) -> dict[str, Any]:
        record = {}
        for name, process in self._processors:
            value = row.get(name)
            if process is not None and value is not None:
                value = process(value)
            record[name] = value
        return record


class RecordsetInsert:
    """``INSERT ... SELECT FROM jsonb_to_recordset(:rows)`` for ``columns``."""

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        conflict: str | None = None,
        returning: Sequence[str] = (),
    ):
        self._records = Records(table, columns)
        names, types = self._records.names, self._records.types
        sql = (
            f'INSERT INTO "{table.name}" ({names}) SELECT {names} '
            f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({types})"
        )
        if conflict:
            sql += f' ON CONFLICT ("{conflict}") DO NOTHING'
        if returning:
            sql += " RETURNING " + ", ".join(f'"{name}"' for name in returning)
        self._statement: TextClause = text(sql)

    def execute(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """Insert ``rows``; return the RETURNING rows (none without RETURNING)."""
        payload = self._records.encode(rows)
        result = conn.execute(self._statement, {"rows": payload})
        return list(result) if result.returns_rows else []


_ESCAPED_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _iso(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON: {value!r}")
