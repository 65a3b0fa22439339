"""Where cursor polling of each lead-ad source has got to.

One row per provider and target (a Meta lead form, a LinkedIn ad account):
the creation time of the newest lead captured from it. A poll asks the
provider for leads created after that time, less a few minutes of overlap,
and moves it only once the leads up to it are committed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from firsttouch.store.models.base import Base, IdMixin
from firsttouch.store.types import UTCDateTime


class LeadPollCursor(IdMixin, Base):
    """The newest lead time captured by polling one provider target."""

    __tablename__ = "lead_poll_cursors"
    __table_args__ = (
        UniqueConstraint("provider", "target", name="uq_lead_poll_cursors_target"),
    )

    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    target: Mapped[str] = mapped_column(String(255), nullable=False)
    last_created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
