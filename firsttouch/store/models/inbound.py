"""Every inbound event exactly once, and who it was given to and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from firsttouch.store.models.base import Base, BigId, CreatedMixin, IdMixin
from firsttouch.store.types import JSONType, UTCDateTime

# Inbound statuses after which nobody works the lead any more.
CLOSED_STATUSES = ("disqualified", "closed", "converted", "spam", "merged")


class Inbound(IdMixin, Base):
    """One buyer signal from one channel, committed before it is acknowledged.

    ``dedupe_key`` is the provider's own event id (``twilio:SM...``,
    ``meta:leadgen:...``) and is unique: a provider's retry inserts nothing.
    """

    __tablename__ = "inbounds"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_inbounds_dedupe_key"),
        Index("ix_inbounds_received_at", "received_at"),
        Index("ix_inbounds_owner_status", "owner_id", "status"),
    )

    dedupe_key: Mapped[str] = mapped_column(String(255), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="message")
    source: Mapped[str] = mapped_column(String(120), nullable=False)
    provider: Mapped[str | None] = mapped_column(String(64))
    provider_event_id: Mapped[str | None] = mapped_column(String(255))
    campaign: Mapped[str | None] = mapped_column(String(255))
    utm: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id"), index=True
    )
    owner_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    raw: Mapped[str | None] = mapped_column(Text)
    raw_truncated: Mapped[bool] = mapped_column(default=False)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("inbounds.id"))
    status: Mapped[str] = mapped_column(String(32), default="new")
    sla_state: Mapped[str] = mapped_column(String(32), default="waiting")
    first_touch_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_touch_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    human_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    human_touch_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RoutingDecision(IdMixin, CreatedMixin, Base):
    """Why an inbound went to its owner: the rule that chose, who was skipped."""

    __tablename__ = "routing_decisions"

    inbound_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inbounds.id"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id"), index=True
    )
    owner_id: Mapped[str] = mapped_column(String(64))
    previous_owner_id: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
