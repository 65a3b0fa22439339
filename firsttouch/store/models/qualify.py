"""What qualification concluded for each inbound, and what sources answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from firsttouch.store.models.base import Base, BigId, CreatedMixin, IdMixin
from firsttouch.store.types import JSONType, UTCDateTime


class Qualification(IdMixin, CreatedMixin, Base):
    """One score, brief and route for an inbound under one ICP version.

    ``reasons`` holds each criterion's points and why; ``facts`` each fact
    with its source; ``sources`` what every enrichment source did (ok,
    cached, failed, timeout). A re-score adds a row; the latest one counts.
    """

    __tablename__ = "qualifications"
    __table_args__ = (
        Index("ix_qualifications_inbound_icp", "inbound_id", "icp_version"),
    )

    inbound_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inbounds.id"), nullable=False
    )
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id"), index=True
    )
    icp_version: Mapped[str] = mapped_column(String(64), nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    route: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    intent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    brief: Mapped[str] = mapped_column(Text, nullable=False)
    brief_source: Mapped[str] = mapped_column(String(16), nullable=False)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    disqualified_reason: Mapped[str | None] = mapped_column(Text)


# Routes that ask a rep to act now; the others are a sequence or closed.
REP_ROUTES = ("rep_now", "fast_track")


def latest_route(session: Session, inbound_id: int) -> str | None:
    """The route of the inbound's newest qualification (a re-score adds a row).

    Layers before qualify (capture, respond) read the route here, from the
    store, without importing the qualify layer. None while not qualified.
    """
    return session.scalar(
        select(Qualification.route)
        .where(Qualification.inbound_id == inbound_id)
        .order_by(Qualification.id.desc())
        .limit(1)
    )


class EnrichmentCacheEntry(IdMixin, Base):
    """A fact source's answer for one key (a domain), kept until it expires."""

    __tablename__ = "enrichment_cache"
    __table_args__ = (
        UniqueConstraint("provider", "key", name="uq_enrichment_cache_provider_key"),
    )

    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    key: Mapped[str] = mapped_column(String(320), nullable=False)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
