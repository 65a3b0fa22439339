"""What we sent, what we promised not to send, and the ledger that keeps
every outbound effect to exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from firsttouch.store.models.base import Base, BigId, CreatedMixin, IdMixin
from firsttouch.store.types import JSONType, UTCDateTime


class Touch(IdMixin, CreatedMixin, Base):
    """One outbound message or call attempt, with its delivery outcome."""

    __tablename__ = "touches"
    __table_args__ = (Index("ix_touches_contact_created", "contact_id", "created_at"),)

    inbound_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inbounds.id"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32), default="first_touch")
    template: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(32), default="queued")
    to_address: Mapped[str | None] = mapped_column(String(320))
    from_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    provider_id: Mapped[str | None] = mapped_column(String(255), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    segments: Mapped[int | None]
    latency_ms: Mapped[float | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class LedgerEntry(IdMixin, CreatedMixin, Base):
    """An outbound effect's idempotency key, recorded before the call is made.

    ``state`` goes pending -> done; a pending entry found by a retry means the
    call may have happened, so the channel is asked before calling again.
    """

    __tablename__ = "outbound_ledger"
    __table_args__ = (UniqueConstraint("key", name="uq_outbound_ledger_key"),)

    key: Mapped[str] = mapped_column(String(255), nullable=False)
    effect: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OptOut(IdMixin, CreatedMixin, Base):
    """A standing 'do not contact' on an address or number, kept past deletion."""

    __tablename__ = "opt_outs"
    __table_args__ = (
        UniqueConstraint("channel", "address", name="uq_opt_outs_channel_address"),
    )

    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(120))
    evidence: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(Text)
