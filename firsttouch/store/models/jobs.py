"""The durable job table that the queue in ``firsttouch.jobs`` works on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from firsttouch.store.models.base import Base, CreatedMixin, IdMixin
from firsttouch.store.types import JSONType, UTCDateTime


class Job(IdMixin, CreatedMixin, Base):
    """A unit of deferred work: queued -> running -> done, or dead after N tries."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_jobs_idempotency_key"),
        # The claim query's path: due queued jobs in time order.
        Index("ix_jobs_state_due", "state", "due_at"),
        # A claim's path for one rank of kinds (``jobs.queue``).
        Index("ix_jobs_state_kind_due", "state", "kind", "due_at"),
        Index("ix_jobs_lease", "state", "lease_expires_at"),
    )

    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued", nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    attempts: Mapped[int] = mapped_column(default=0, nullable=False)
    max_attempts: Mapped[int] = mapped_column(default=8, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Since when its deliveries have failed for reasons that may pass: such
    # failures are retried until a horizon, not charged to ``max_attempts``.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
