"""Prepared statements: the driver path stores and reads what SQLAlchemy would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    exc,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from firsttouch.store.db import Database
from firsttouch.store.prepared import Prepared, Rows, connection_of
from firsttouch.store.types import JSONType, UTCDateTime

STAMP = datetime(2026, 3, 8, 6, 59, 59, 123456, tzinfo=UTC)
TOUCHED = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)

metadata = MetaData()
# Every kind of value the hot statements carry: aware times, JSON, flags,
# defaults computed in Python (scalar and callable) and an onupdate.
rows_table = Table(
    "prepared_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("at", UTCDateTime()),
    Column("data", JSONType),
    Column("flag", Boolean, nullable=False, default=False),
    Column("count", Integer, nullable=False, default=0),
    Column("stamp", UTCDateTime(), default=lambda: STAMP),
    Column("touched", UTCDateTime(), onupdate=lambda: TOUCHED),
)

INSERT = Prepared(insert(rows_table).returning(rows_table.c.id))
INSERT_ONCE = Prepared(
    sqlite.insert(rows_table).on_conflict_do_nothing(index_elements=["name"])
)
BY_NAME = Prepared(
    select(rows_table).where(rows_table.c.name == bindparam("name")).limit(1)
)
SINCE = Prepared(
    select(rows_table.c.name, rows_table.c.at)
    .where(rows_table.c.at >= bindparam("since", type_=UTCDateTime()))
    .order_by(rows_table.c.at)
)
RENAME = Prepared(
    update(rows_table)
    .where(rows_table.c.name == bindparam("old"))
    .values(name=bindparam("new"))
)
IN_LIST = Prepared(
    select(rows_table.c.name).where(
        rows_table.c.name.in_(bindparam("names", expanding=True))
    )
)


@pytest.fixture
def file_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'prepared.db'}")
    metadata.create_all(db.engine)
    yield db
    db.dispose()


def _stored(conn: Connection) -> list[tuple[Any, ...]]:
    # What is in the file, as the driver sees it: text times, JSON text.
    return list(conn.exec_driver_sql("SELECT * FROM prepared_rows ORDER BY id"))


def test_an_insert_on_the_driver_stores_what_sqlalchemy_stores(
    file_db: Database,
) -> None:
    values = {"name": "ada", "at": STAMP, "data": {"k": [1, "é"]}, "flag": True}
    with file_db.write_connection() as conn:
        result = INSERT.run(conn, values)
        assert isinstance(result, Rows)  # the driver path, not a fallback
        driver_id = result.scalar_one()
        conn.execute(INSERT.statement, {**values, "name": "bob"})
        rows = _stored(conn)

    assert driver_id == 1
    # Same text, same defaults (scalar and callable), row for row.
    assert rows[0][2:] == rows[1][2:]
    assert rows[0][1:] == (
        "ada",
        "2026-03-08 06:59:59.123456",
        '{"k": [1, "\\u00e9"]}',
        1,
        0,
        "2026-03-08 06:59:59.123456",
        None,
    )


def test_rows_read_on_the_driver_come_back_typed(file_db: Database) -> None:
    with file_db.write_connection() as conn:
        INSERT.run(conn, {"name": "ada", "at": STAMP, "data": {"a": 1}})
        row = BY_NAME.run(conn, {"name": "ada"}).first()
        expected = conn.execute(BY_NAME.statement, {"name": "ada"}).first()

    assert row is not None and expected is not None
    assert tuple(row) == tuple(expected)
    assert row.at == STAMP and row.at.tzinfo is UTC
    assert row.data == {"a": 1}
    assert row.flag is False
    assert row._mapping["name"] == "ada" and row[1] == "ada"


def test_result_readers_answer_as_sqlalchemy_results_do(file_db: Database) -> None:
    later = datetime(2026, 3, 9, tzinfo=UTC)
    with file_db.write_connection() as conn:
        INSERT.run(conn, {"name": "a", "at": STAMP})
        INSERT.run(conn, {"name": "b", "at": later})
        since = {"since": STAMP}

        assert SINCE.run(conn, since).scalars() == ["a", "b"]
        assert [r.name for r in SINCE.run(conn, since).all()] == ["a", "b"]
        assert SINCE.run(conn, {"since": later}).one().at == later
        assert SINCE.run(conn, {"since": later}).scalar_one() == "b"
        assert SINCE.run(conn, {"since": TOUCHED}).first() is None
        assert SINCE.run(conn, {"since": TOUCHED}).scalar() is None
        assert SINCE.run(conn, {"since": TOUCHED}).one_or_none() is None
        with pytest.raises(exc.MultipleResultsFound):
            SINCE.run(conn, since).one()
        with pytest.raises(exc.NoResultFound):
            SINCE.run(conn, {"since": TOUCHED}).one()


def test_an_update_counts_its_rows_and_fills_onupdate_columns(
    file_db: Database,
) -> None:
    with file_db.write_connection() as conn:
        INSERT.run(conn, {"name": "a"})
        assert RENAME.run(conn, {"old": "a", "new": "b"}).rowcount == 1
        assert RENAME.run(conn, {"old": "a", "new": "c"}).rowcount == 0
        row = BY_NAME.run(conn, {"name": "b"}).one()

    assert row.touched == TOUCHED


def test_many_rows_go_in_one_call_and_a_taken_key_adds_nothing(
    file_db: Database,
) -> None:
    with file_db.write_connection() as conn:
        INSERT_ONCE.run_many(
            conn,
            [
                {"name": "a", "count": 2},
                {"name": "b", "count": 0},
                {"name": "a", "count": 9},
            ],
        )
        counts = list(conn.execute(select(rows_table.c.name, rows_table.c.count)))

    assert counts == [("a", 2), ("b", 0)]


def test_a_unique_key_taken_raises_sqlalchemys_error_without_values(
    file_db: Database,
) -> None:
    taken = {"name": "secret@example.com"}
    with pytest.raises(exc.IntegrityError) as raised, file_db.write_connection() as c:
        INSERT.run(c, taken)
        INSERT.run(c, taken)

    assert "UNIQUE" in str(raised.value)
    assert "secret@example.com" not in str(raised.value)
    with file_db.write_connection() as conn:
        assert _stored(conn) == []  # the transaction rolled back whole


def test_a_missing_parameter_is_named(file_db: Database) -> None:
    missing = pytest.raises(exc.ArgumentError, match="'since'")
    with file_db.write_connection() as conn, missing:
        SINCE.run(conn, {})


def test_a_session_writes_its_pending_rows_before_the_statement(
    file_db: Database,
) -> None:
    with file_db.transaction() as session:
        session.execute(insert(rows_table), {"name": "a"})
        assert isinstance(connection_of(session), Connection)
        assert BY_NAME.run(session, {"name": "a"}).one().name == "a"


def test_plain_sql_gives_plain_rows(file_db: Database) -> None:
    returning = Prepared(
        text(
            "INSERT INTO prepared_rows (name, flag, count) VALUES (:n, 0, 5)"
            " RETURNING count"
        )
    )
    bump = Prepared(text("UPDATE prepared_rows SET count = count + 1"))
    with file_db.write_connection() as conn:
        assert returning.run(conn, {"n": "a"}).scalars() == [5]
        assert bump.run(conn).rowcount == 1


def test_sqlalchemy_runs_what_needs_it_per_call(file_db: Database) -> None:
    with file_db.write_connection() as conn:
        INSERT.run(conn, {"name": "a"})
        # A list expanded into the SQL per call.
        found = IN_LIST.run(conn, {"names": ["a", "z"]})
        assert not isinstance(found, Rows)
        assert found.scalars().all() == ["a"]

    with file_db.engine.connect() as writing:
        # A write with no transaction begun: SQLAlchemy begins one.
        result = INSERT.run(writing, {"name": "b"})
        assert not isinstance(result, Rows)
        assert result.scalar_one() == 2
        writing.rollback()
        # A single read needs none.
        assert isinstance(BY_NAME.run(writing, {"name": "a"}), Rows)


def test_a_listener_on_the_engine_sees_every_statement(file_db: Database) -> None:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(file_db.engine, "before_cursor_execute", record)
    try:
        with file_db.write_connection() as conn:
            result = INSERT.run(conn, {"name": "a"})
            assert not isinstance(result, Rows)
            assert result.scalar_one() == 1
    finally:
        event.remove(file_db.engine, "before_cursor_execute", record)

    assert any(sql.startswith("INSERT INTO prepared_rows") for sql in seen)


@pytest.mark.postgres
def test_postgresql_runs_through_sqlalchemy(pg_url: str) -> None:
    db = Database(pg_url)
    table = rows_table.to_metadata(MetaData(), name="prepared_rows_pg")
    table.create(db.engine, checkfirst=True)
    try:
        statement = Prepared(insert(table).returning(table.c.id, table.c.stamp))
        with db.transaction() as session:
            result = statement.run(session, {"name": "a", "at": STAMP})
            assert not isinstance(result, Rows)
            row = result.one()
        assert row.stamp == STAMP
    finally:
        table.drop(db.engine)
        db.dispose()


def test_statements_in_the_session_see_one_transaction(file_db: Database) -> None:
    # The driver shares the session's connection: a rollback undoes both.
    with pytest.raises(RuntimeError), file_db.transaction() as session:
        INSERT.run(session, {"name": "a"})
        session.execute(insert(rows_table), {"name": "b"})
        raise RuntimeError("undo")
    with Session(file_db.engine) as session:
        assert session.execute(select(rows_table)).all() == []
