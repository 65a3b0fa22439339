"""Deals, activities and tasks: the built-in CRM's records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from firsttouch.store.models.base import Base, BigId, CreatedMixin, IdMixin
from firsttouch.store.types import JSONType, UTCDateTime


class Deal(IdMixin, CreatedMixin, Base):
    __tablename__ = "deals"

    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("companies.id"))
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    stage: Mapped[str] = mapped_column(String(64), default="new")
    value: Mapped[float | None] = mapped_column(Numeric(14, 2))
    stage_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Activity(IdMixin, CreatedMixin, Base):
    """One entry on a contact's timeline: a touch, reply, call, note or change."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_contact_at", "contact_id", "occurred_at"),)

    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"))
    deal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("deals.id"))
    inbound_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("inbounds.id"))
    kind: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str | None] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Task(IdMixin, CreatedMixin, Base):
    __tablename__ = "tasks"

    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id"), index=True
    )
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
