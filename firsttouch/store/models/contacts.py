"""People and companies, one row per real-world person or organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from firsttouch.store.models.base import Base, BigId, CreatedMixin, IdMixin
from firsttouch.store.types import JSONType, UTCDateTime


class Company(IdMixin, CreatedMixin, Base):
    __tablename__ = "companies"

    domain: Mapped[str | None] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    name_key: Mapped[str | None] = mapped_column(String(255), index=True)
    industry: Mapped[str | None] = mapped_column(String(120))
    employee_count: Mapped[int | None]
    country: Mapped[str | None] = mapped_column(String(2))
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Contact(IdMixin, CreatedMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_email_norm", "email_norm"),
        Index("ix_contacts_phone_e164", "phone_e164"),
        # Matching by name (no email or phone match) compares lower-cased.
        Index(
            "ix_contacts_name_lower",
            func.lower(text("first_name")),
            func.lower(text("last_name")),
        ),
    )

    email: Mapped[str | None] = mapped_column(String(320))
    email_norm: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(32))
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(255))
    company_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("companies.id"), index=True
    )
    company_name: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32), default="new", index=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    review_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id"), index=True
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or self.phone_e164 or f"contact {self.id}"


class ContactMerge(IdMixin, CreatedMixin, Base):
    """An audited merge of one contact into another, with what moved, for undo."""

    __tablename__ = "contact_merges"

    survivor_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    merged_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    moved: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
