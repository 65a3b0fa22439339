"""Queue several keyed jobs in one statement, inside the caller's transaction.

``enqueue`` is one INSERT per job; a new lead queues five (qualify, first
touch, two SLA checks, a reassignment check), and the accept writer queues
one per request of a group. Here they go as one executemany of
``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING``, with the same
promise as ``enqueue``: a key already queued or run adds nothing, and the
jobs exist only if the caller's transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from firsttouch.jobs.waker import CHANNEL, mark_enqueued
from firsttouch.store.models import Job

# The same default as ``enqueue``.
DEFAULT_MAX_ATTEMPTS = 8

_JOBS = cast(Table, Job.__table__)
_INSERT_ONCE = {
    "postgresql": postgresql.insert(_JOBS).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    ),
    "sqlite": sqlite.insert(_JOBS).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    ),
}
_NOTIFY = text("SELECT pg_notify(:channel, '')")


@dataclass(frozen=True)
class KeyedJob:
    """One job to queue once: ``key`` names it for good."""

    kind: str
    key: str
    payload: dict[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


def enqueue_keyed(session: Session, jobs: Sequence[KeyedJob], now: datetime) -> None:
    """Queue ``jobs`` (due now unless they say otherwise) in one statement."""
    if not jobs:
        return
    rows = [
        {
            "kind": job.kind,
            "payload": job.payload,
            "state": "queued",
            "due_at": job.due_at or now,
            "attempts": 0,
            "max_attempts": job.max_attempts,
            "idempotency_key": job.key,
            "created_at": now,
        }
        for job in jobs
    ]
    dialect = session.get_bind().dialect.name
    statement = _INSERT_ONCE["postgresql" if dialect == "postgresql" else "sqlite"]
    session.connection().execute(statement, rows)
    if dialect == "postgresql":
        # Delivered at commit only, once however many jobs there are.
        session.execute(_NOTIFY, {"channel": CHANNEL})
    mark_enqueued(session)
