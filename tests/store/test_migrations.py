"""Migrations build the schema from empty on both engines, and the schema
they build matches the models."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from firsttouch.store import migrate
from firsttouch.store.db import make_engine
from firsttouch.store.models import Base


def _assert_schema_matches_models(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


def test_migrations_from_empty_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    assert migrate.is_current(engine, url)
    assert {"inbounds", "contacts", "jobs", "outbound_ledger"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
    _assert_schema_matches_models(url)
    migrate.downgrade(url)
    migrate.upgrade(url)


@pytest.mark.postgres
def test_migrations_from_empty_on_postgres(pg_url: str) -> None:
    admin = create_engine(
        make_url(pg_url).set(database="test").set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
    )
    name = f"ft_mig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        assert migrate.is_current(engine, url)
        engine.dispose()
        _assert_schema_matches_models(url)
        migrate.downgrade(url)
        migrate.upgrade(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(db) -> None:  # type: ignore[no-untyped-def]
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
