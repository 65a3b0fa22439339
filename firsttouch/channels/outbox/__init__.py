"""The local outbox: what would have been sent, kept in the database."""

from firsttouch.channels.outbox.store import (
    OutboxEmail,
    OutboxSms,
    OutboxVoice,
    list_outbox,
)

__all__ = ["OutboxEmail", "OutboxSms", "OutboxVoice", "list_outbox"]
