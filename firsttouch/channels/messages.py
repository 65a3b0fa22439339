"""What every channel is handed: a message, fully formed, with its identity.

Channels send what they are given and convert provider errors into
``DeliveryError(permanent=...)``; they decide nothing about whom to contact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

Result = dict[str, Any]
Accepted = Callable[[Result], None]


@dataclass(frozen=True)
class EmailMessage:
    """One email: both parts, threading headers and our Message-ID."""

    to: str
    from_address: str
    subject: str
    text: str
    html: str
    message_id: str
    from_name: str | None = None
    to_name: str | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    date: datetime | None = None


@dataclass(frozen=True)
class SmsMessage:
    """One text, with the key that makes a resend recognisable."""

    to: str
    body: str
    key: str
    status_callback: str | None = None


@dataclass(frozen=True)
class CallRequest:
    """A call to ``to`` that plays the TwiML at ``twiml_url`` when answered."""

    to: str
    twiml_url: str
    key: str
    status_callback: str | None = None
    timeout_seconds: int = 25


class EmailChannel(Protocol):
    name: str

    def send(
        self, message: EmailMessage, on_accepted: Accepted | None = None
    ) -> Result:
        """Send; call ``on_accepted`` the moment the server has taken it."""
        ...


class SmsChannel(Protocol):
    name: str

    def send(self, message: SmsMessage) -> Result: ...

    def lookup(self, message: SmsMessage) -> Result | None:
        """Return the provider's record of an earlier send of ``message``."""
        ...


class VoiceChannel(Protocol):
    name: str

    def call(self, request: CallRequest) -> Result: ...
