"""Liveness, readiness, metrics and the request id."""

from __future__ import annotations

from sqlalchemy import text

from firsttouch.store.db import Database


def test_healthz_answers_ok(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_database_is_migrated(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}


def test_readyz_says_run_upgrade_when_schema_is_missing(runtime, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from firsttouch.web import create_app

    runtime.db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    response = TestClient(create_app(runtime)).get("/readyz")
    assert response.status_code == 503
    assert "firsttouch db upgrade" in response.json()["checks"]["migrations"]


def test_readyz_says_a_newer_version_upgraded_the_database(runtime, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from firsttouch.store import migrate
    from firsttouch.web import create_app

    url = f"sqlite:///{tmp_path / 'newer.db'}"
    migrate.upgrade(url)
    runtime.db = Database(url)
    with runtime.db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE alembic_version SET version_num = 'core_0999' "
                "WHERE version_num LIKE 'core_%'"
            )
        )
    response = TestClient(create_app(runtime)).get("/readyz")
    assert response.status_code == 503
    assert "a newer version upgraded it" in response.json()["checks"]["migrations"]


def test_metrics_expose_requests_and_jobs(client) -> None:
    client.get("/healthz")
    body = client.get("/metrics").text
    assert "firsttouch_http_requests_total" in body
    assert 'firsttouch_jobs{state="queued"}' in body
    assert "firsttouch_job_lag_seconds" in body


def test_metrics_say_how_busy_the_sqlite_writer_lock_is(client, runtime) -> None:
    with runtime.db.transaction() as session:
        session.execute(text("SELECT 1"))
    lines = client.get("/metrics").text.splitlines()

    def value(name: str) -> float:
        (found,) = [line for line in lines if line.startswith(name + " ")]
        return float(found.split()[1])

    assert value("firsttouch_sqlite_writer_turns_total") >= 1
    assert value("firsttouch_sqlite_writer_busy_seconds_total") > 0
    assert value("firsttouch_sqlite_writer_wait_seconds_total") >= 0


def test_every_response_carries_a_request_id(client) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"


def test_oversized_body_is_refused_with_413(client) -> None:
    response = client.post("/healthz", content=b"x" * 2_000_000)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
