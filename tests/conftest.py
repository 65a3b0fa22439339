"""Fixtures every test shares: databases on both engines, a virtual clock,
the example workspace, a runtime and a web client.

PostgreSQL tests use ``FIRSTTOUCH_TEST_PG_URL`` (default: the local server's
``test`` database). Each test session works in a database of its own, made
from scratch by the migrations and dropped at the end, so parallel runs never
see each other. Without a server the PostgreSQL tests skip, except in CI
(``CI=true``), where a missing server fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from firsttouch import clock as clock_module
from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store import migrate
from firsttouch.store.db import Database, normalise_url
from firsttouch.store.models import Base
from firsttouch.workspace import Workspace, load_workspace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_WORKSPACE = ROOT / "examples" / "workspace"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
# A Tuesday, 14:00 UTC: business hours in New York and London.
T0 = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def _pg_admin_url() -> str:
    return normalise_url(os.environ.get("FIRSTTOUCH_TEST_PG_URL", DEFAULT_PG))


def _pg_reachable(url: str) -> str | None:
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    admin_url = _pg_admin_url()
    problem = _pg_reachable(admin_url)
    if problem:
        message = (
            f"PostgreSQL not reachable at {admin_url} ({problem}); start it or "
            "set FIRSTTOUCH_TEST_PG_URL to run the PostgreSQL tests"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)

    name = f"ft_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _truncate_all(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _sqlite_db(template: Path, tmp_path: Path) -> Database:
    path = tmp_path / "firsttouch.db"
    shutil.copy(template, path)
    return Database(f"sqlite:///{path}")


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    db = _sqlite_db(sqlite_template, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    _truncate_all(db)
    yield db
    db.dispose()


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    """The default test database: SQLite. Use ``any_db`` to run on both engines."""
    return sqlite_db


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[Database]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        db = _sqlite_db(sqlite_template, tmp_path)
    else:
        db = Database(request.getfixturevalue("pg_url"))
        _truncate_all(db)
    yield db
    db.dispose()


@pytest.fixture(autouse=True)
def _logging_on_a_live_stream() -> Iterator[None]:
    """Put logging back on a live stream after a test that closed it.

    A CLI test configures structlog with CliRunner's captured stderr, which
    is closed once the call returns; the next test to log would fail.
    """
    yield
    factory = structlog.get_config().get("logger_factory")
    stream = getattr(factory, "_file", None)
    if stream is not None and getattr(stream, "closed", False):
        structlog.reset_defaults()


@pytest.fixture
def clock() -> Iterator[VirtualClock]:
    """A virtual clock standing still at ``T0`` and installed as the process clock."""
    virtual = VirtualClock(T0)
    previous = clock_module.install(virtual)
    yield virtual
    clock_module.install(previous)


@pytest.fixture(scope="session")
def workspace() -> Workspace:
    return load_workspace(EXAMPLE_WORKSPACE)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        workspace_path=EXAMPLE_WORKSPACE,
        outbox_dir=tmp_path / "outbox",
        env={"TWILIO_AUTH_TOKEN": "test-twilio-token"},
    )


@pytest.fixture
def runtime(
    settings: Settings, db: Database, workspace: Workspace, clock: VirtualClock
) -> Runtime:
    return Runtime(
        settings=settings.with_overrides(database_url=db.url),
        db=db,
        workspace=workspace,
        clock=clock,
    )


def settle_accepted(runtime: Runtime) -> int:
    """Run the queued ``capture.ingest`` jobs, as a worker would just after a 2xx.

    Webhooks and forms are acknowledged once stored (status ``accepted``);
    contact, owner and follow-ups come from that job. Tests that read the
    lead right after a POST settle first; the other job kinds stay queued.
    """
    from sqlalchemy import select, update

    from firsttouch.capture.accept import INGEST_KIND
    from firsttouch.capture.events import InboundEvent
    from firsttouch.capture.ingest import ingest_accepted
    from firsttouch.store.models import Job

    with runtime.db.sessions() as session:
        jobs = session.execute(
            select(Job.id, Job.payload)
            .where(Job.kind == INGEST_KIND, Job.state == "queued")
            .order_by(Job.id)
        ).all()
    for job_id, payload in jobs:
        event = InboundEvent.model_validate(payload["event"])
        ingest_accepted(runtime, int(payload["inbound_id"]), event)
        with runtime.db.transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(state="done", finished_at=runtime.clock.now())
            )
    return len(jobs)


@pytest.fixture
def raw_client(runtime: Runtime):  # type: ignore[no-untyped-def]
    """A web client that leaves accepted inbounds for the worker."""
    from fastapi.testclient import TestClient

    from firsttouch.web import create_app

    with TestClient(create_app(runtime)) as test_client:
        yield test_client


@pytest.fixture
def client(runtime: Runtime):  # type: ignore[no-untyped-def]
    """A web client after whose every request the capture jobs have run."""
    from fastapi.testclient import TestClient

    from firsttouch.web import create_app

    class SettlingClient(TestClient):
        def request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            response = super().request(*args, **kwargs)
            settle_accepted(runtime)
            return response

    with SettlingClient(create_app(runtime)) as test_client:
        yield test_client


_postgres_passed = 0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _postgres_passed
    if report.when == "call" and report.passed and "postgres" in report.keywords:
        _postgres_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # In CI a silent skip of the PostgreSQL suite would hide half the product.
    if os.environ.get("CI") != "true" or session.config.option.collectonly:
        return
    if session.testscollected and _postgres_passed == 0 and exitstatus == 0:
        print("\nCI: no PostgreSQL test passed; the PostgreSQL suite must run in CI")
        session.exitstatus = 1
