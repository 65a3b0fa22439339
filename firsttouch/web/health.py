"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from firsttouch.jobs.queue import JobQueue
from firsttouch.store import migrate

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Answer while the process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Answer 200 only when the database answers and its schema is current."""
    runtime = request.app.state.runtime
    checks: dict[str, str] = {}
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        newer = migrate.newer_schema(runtime.db.engine, runtime.db.url)
        current = migrate.is_current(runtime.db.engine, runtime.db.url)
        checks["migrations"] = newer or (
            "ok" if current else "behind: run `firsttouch db upgrade`"
        )
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values()) and len(checks) == 2
    return JSONResponse(
        {"ready": ready, "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus exposition: requests, jobs by state, job lag, and on
    SQLite how busy the writer lock is."""
    runtime = request.app.state.runtime
    app_metrics = request.app.state.metrics
    queue = JobQueue(runtime.db, runtime.clock)
    counts = queue.counts()
    for state in ("queued", "running", "done", "dead"):
        app_metrics.jobs.labels(state).set(counts.get(state, 0))
    app_metrics.job_lag.set(queue.lag_seconds())
    writer = runtime.db.writer_stats()
    if writer is not None:
        app_metrics.writer_turns.set(writer.turns)
        app_metrics.writer_busy.set(writer.held_seconds)
        app_metrics.writer_wait.set(writer.waited_seconds)
    return Response(
        generate_latest(app_metrics.exposition_registry()),
        media_type=CONTENT_TYPE_LATEST,
    )
