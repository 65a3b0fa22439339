"""What the respond layer keeps besides touches: consent acts, meetings,
SLA events, the send counters that enforce mailbox limits and the local
outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from firsttouch.store.models.base import Base, BigId, CreatedMixin, IdMixin
from firsttouch.store.types import JSONType, UTCDateTime


class ConsentEvent(IdMixin, CreatedMixin, Base):
    """One recorded act of consent: an opt-out, an opt-in, a HELP request.

    Keyed on the normalised address, not the contact, so the record
    outlives a deleted contact; ``contact_id`` is a plain number for that
    reason (no foreign key to cascade).
    """

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_address", "channel", "address"),)

    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(120))
    form: Mapped[str | None] = mapped_column(String(120))
    evidence: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[int | None] = mapped_column(BigId)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Meeting(IdMixin, CreatedMixin, Base):
    """A meeting booked on the built-in booking page.

    ``slot_key`` (owner and start) is unique while the meeting holds its
    slot and empty once cancelled, so two buyers cannot take one slot and a
    freed slot can be booked again. ``sequence`` is the iCalendar SEQUENCE:
    each reschedule or cancellation raises it, so calendars apply the newest.
    ``buyer_email`` is the address the buyer typed on the booking page when
    none was on file; a link with no contact behind it has nowhere else to
    keep it, and the invite goes there.
    """

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("uid", name="uq_meetings_uid"),
        UniqueConstraint("slot_key", name="uq_meetings_slot_key"),
        Index("ix_meetings_owner_starts", "owner_id", "starts_at"),
    )

    uid: Mapped[str] = mapped_column(String(255))
    inbound_id: Mapped[int | None] = mapped_column(BigId)
    contact_id: Mapped[int | None] = mapped_column(BigId)
    owner_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    buyer_timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    slot_key: Mapped[str | None] = mapped_column(String(255))
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    buyer_email: Mapped[str | None] = mapped_column(String(320))


class SlaEvent(IdMixin, CreatedMixin, Base):
    """A check of one SLA clock of one inbound, and what it found."""

    __tablename__ = "sla_events"

    inbound_id: Mapped[int] = mapped_column(BigId, index=True)
    clock: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class SendCounter(IdMixin, Base):
    """How many sends a sender made in one window (``m:`` minute, ``d:`` day)."""

    __tablename__ = "send_counters"
    __table_args__ = (
        UniqueConstraint("sender", "bucket", name="uq_send_counters_sender_bucket"),
    )

    sender: Mapped[str] = mapped_column(String(320))
    bucket: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(default=0)


class OutboxMessage(IdMixin, CreatedMixin, Base):
    """A message the local outbox channel kept instead of sending it.

    ``key`` is the send's idempotency key, so a retried send keeps one row.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_messages_key"),
        Index("ix_outbox_messages_created", "created_at"),
    )

    key: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))
    to_address: Mapped[str] = mapped_column(String(320))
    from_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(998))
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
