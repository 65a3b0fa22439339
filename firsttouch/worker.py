"""The worker entry point: maps each job kind to the layer that handles it."""

from __future__ import annotations

import time

import structlog

from firsttouch import capture, crm, nurture, qualify, respond  # noqa: F401
from firsttouch.capture import handlers as capture_handlers
from firsttouch.capture.accept import INGEST_KIND
from firsttouch.crm import handlers as crm_handlers
from firsttouch.jobs.runner import GiveUp, Handler, JobContext, Worker
from firsttouch.nurture import handlers as nurture_handlers
from firsttouch.qualify import handlers as qualify_handlers
from firsttouch.respond import handlers as respond_handlers
from firsttouch.runtime import Runtime

log = structlog.get_logger(__name__)

# Which due job a worker takes first: higher first, unnamed kinds rank 0,
# and among equals the one due first. The first touch and the capture that
# queues it share the top rank, and a first touch is due from its buyer's
# arrival: so the longest-waiting buyer goes first, and a later lead's
# capture never jumps an earlier lead's touch (nor, when most leads are
# ingested on acceptance, does a stream of touches starve the captures a
# burst left to jobs). Both leave before enrichment, so a slow step never
# holds up a touch; then the other messages a person waits on. Qualifying
# and timers: rank 0.
PRIORITIES: dict[str, int] = {
    "respond.first_touch": 30,
    INGEST_KIND: 30,
    "respond.send_touch": 10,
    "respond.alert_owner": 10,
    "respond.call_bridge": 10,
}


def _noop(ctx: JobContext) -> None:
    """Do nothing: benchmarks and health checks measure the queue itself."""


def _sleep(ctx: JobContext) -> None:
    """Wait for ``payload['seconds']``: tests use it to kill a worker mid-job."""
    time.sleep(float(ctx.payload.get("seconds", 1.0)))


def build_handlers(runtime: Runtime) -> dict[str, Handler]:
    """Collect every layer's handlers; a kind claimed twice is a start-up error."""
    handlers: dict[str, Handler] = {"system.noop": _noop, "system.sleep": _sleep}
    for module in (
        capture_handlers,
        respond_handlers,
        qualify_handlers,
        nurture_handlers,
        crm_handlers,
    ):
        for kind, handler in module.handlers(runtime).items():
            if kind in handlers:
                raise RuntimeError(f"job kind {kind!r} has two handlers")
            handlers[kind] = handler
    return handlers


def build_give_ups(runtime: Runtime) -> dict[str, GiveUp]:
    """Collect what each layer records when one of its jobs goes dead."""
    return respond_handlers.give_ups(runtime)


def build_worker(
    runtime: Runtime, *, worker_id: str | None = None, batch: int = 20
) -> Worker:
    """Return a worker for this runtime with every layer's handlers."""
    settings = runtime.settings
    return Worker(
        runtime.db,
        build_handlers(runtime),
        runtime.clock,
        worker_id=worker_id or settings.worker_id or None,
        batch=batch,
        lease_seconds=settings.job_lease_seconds,
        poll_seconds=settings.job_poll_seconds,
        services={"runtime": runtime},
        priorities=PRIORITIES,
        give_ups=build_give_ups(runtime),
    )
