"""Keep outbound messages in the database instead of sending them.

The embedded default and the demo send nothing to the outside: each email,
text or call request becomes an ``outbox_messages`` row, which the dashboard
lists (``list_outbox``) and any web replica can show. An email keeps its full
MIME source, so it can be saved as ``.eml`` and opened in a mail client.

A row is keyed on the send's idempotency key: writing the same message twice
leaves one row, and ``lookup`` tells a retry that an earlier attempt got this
far, so the ledger never writes it twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from firsttouch.channels.control_chars import header_text
from firsttouch.channels.messages import (
    Accepted,
    CallRequest,
    EmailMessage,
    Result,
    SmsMessage,
)
from firsttouch.channels.sms_segments import measure_sms
from firsttouch.channels.smtp.addresses import AddressError
from firsttouch.channels.smtp.wire import render_email
from firsttouch.clock import Clock
from firsttouch.errors import DeliveryError
from firsttouch.store.db import Database
from firsttouch.store.models import OutboxMessage


class _Outbox:
    """Inserts one row per key, ignoring a repeat of the same key."""

    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock

    def _keep(self, key: str, **values: Any) -> None:
        dialect = postgresql if self.db.is_postgres else sqlite
        stmt = dialect.insert(OutboxMessage).values(
            key=key, created_at=self.clock.now(), **values
        )
        with self.db.transaction() as session:
            session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))

    def _find(self, key: str) -> OutboxMessage | None:
        with self.db.sessions() as session:
            row = session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
            if row is not None:
                session.expunge(row)
            return row


class OutboxEmail(_Outbox):
    """Keeps each email, with its MIME source, as an outbox row."""

    name = "outbox"

    def send(
        self, message: EmailMessage, on_accepted: Accepted | None = None
    ) -> Result:
        """Keep ``message`` where the dashboard can show it.

        Raises a permanent ``DeliveryError`` for an address that cannot be
        written, as the SMTP sender does: no retry can mend it.
        """
        try:
            raw = render_email(message).decode("utf-8")
        except AddressError as exc:
            raise DeliveryError(
                f"{exc}; the message cannot be addressed", permanent=True
            ) from exc
        self._keep(
            message.message_id,
            channel="email",
            to_address=message.to,
            from_address=message.from_address,
            subject=header_text(message.subject),
            body=message.text,
            html=message.html,
            raw=raw,
            message_id=message.message_id,
            meta={"headers": dict(message.headers)},
        )
        result: Result = {"message_id": message.message_id, "provider": "outbox"}
        if on_accepted is not None:
            on_accepted(result)
        return result

    def lookup(self, message: EmailMessage) -> Result | None:
        """Return the earlier keeping of ``message``, if there was one."""
        if self._find(message.message_id) is None:
            return None
        return {"message_id": message.message_id, "provider": "outbox"}


class OutboxSms(_Outbox):
    """Keeps each text as an outbox row; reports it sent at once."""

    name = "outbox"

    def send(self, message: SmsMessage) -> Result:
        """Keep ``message``; return a provider-like result."""
        segments = measure_sms(message.body).segments
        self._keep(
            message.key,
            channel="sms",
            to_address=message.to,
            body=message.body,
            meta={"segments": segments},
        )
        return self._result(message.key) | {"segments": segments}

    def lookup(self, message: SmsMessage) -> Result | None:
        """Return the earlier keeping of ``message``, if there was one."""
        row = self._find(message.key)
        return None if row is None else self._result(message.key)

    def _result(self, key: str) -> Result:
        row = self._find(key)
        sid = f"outbox-{row.id}" if row is not None else "outbox"
        return {"sid": sid, "status": "sent", "provider": "outbox"}


class OutboxVoice(_Outbox):
    """Keeps each call request as an outbox row."""

    name = "outbox"

    def call(self, request: CallRequest) -> Result:
        """Keep ``request``; return a provider-like result."""
        self._keep(
            request.key,
            channel="call",
            to_address=request.to,
            body=request.twiml_url,
            meta={"timeout": request.timeout_seconds},
        )
        row = self._find(request.key)
        sid = f"outbox-{row.id}" if row is not None else "outbox"
        return {"sid": sid, "status": "queued", "provider": "outbox"}


def list_outbox(session: Session, limit: int = 50) -> list[OutboxMessage]:
    """Return the newest outbox messages first, for the dashboard."""
    query = (
        select(OutboxMessage)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
