"""Where IMAP polling of a shared mailbox has got to, per mailbox.

IMAP UIDs only mean something together with the folder's UIDVALIDITY
(RFC 3501 section 2.3.1.1): when the server changes UIDVALIDITY, old UIDs
may name other messages, so the cursor starts the folder again and the
Message-ID de-duplication of inbounds keeps already captured mail single.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from firsttouch.store.models.base import Base, IdMixin
from firsttouch.store.types import UTCDateTime


class ImapCursor(IdMixin, Base):
    """The highest UID captured in one mailbox folder, under its UIDVALIDITY."""

    __tablename__ = "imap_cursors"
    __table_args__ = (UniqueConstraint("mailbox", name="uq_imap_cursors_mailbox"),)

    mailbox: Mapped[str] = mapped_column(String(512), nullable=False)
    uid_validity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_uid: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
