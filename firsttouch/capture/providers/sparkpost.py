"""SparkPost relay webhooks: a JSON array of ``msys.relay_message`` objects.

Each relay message holds the whole mail in ``content.email_rfc822``
(base64 when ``email_rfc822_is_base64``), the envelope (``msg_from``,
``rcpt_to``) and the webhook's id; ``content`` also has the parsed
``headers``, ``text`` and ``html``, used when the raw mail is absent
(https://developers.sparkpost.com/api/relay-webhooks/). SparkPost sends the
relay webhook's ``auth_token`` in ``X-MessageSystems-Webhook-Token``, or
Basic auth credentials when the webhook is set up with them; the route
checks whichever the workspace configured.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.mail_event import Batch, mail_event, parse_batch
from firsttouch.capture.providers.mime_rebuild import body_part, rebuild_mime
from firsttouch.capture.providers.payloads import read_json
from firsttouch.errors import InputError

PROVIDER = "sparkpost"
TOKEN_HEADER = "X-MessageSystems-Webhook-Token"  # noqa: S105 - a header name, not a secret


def _rfc822(content: dict[str, Any]) -> bytes | None:
    raw = content.get("email_rfc822")
    if not isinstance(raw, str) or not raw.strip():
        return None
    if not content.get("email_rfc822_is_base64"):
        return raw.encode("utf-8", errors="surrogateescape")
    try:
        return base64.b64decode(raw, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise InputError(
            f"SparkPost email_rfc822 is flagged base64 but is not: {exc}",
            field="content.email_rfc822",
        ) from exc


def sparkpost_raw_mime(relay: dict[str, Any]) -> bytes:
    """The message as raw bytes: ``email_rfc822`` or rebuilt from the parts."""
    content = relay.get("content")
    if not isinstance(content, dict):
        raise InputError("SparkPost relay message without content", field="content")
    raw = _rfc822(content)
    if raw is not None:
        return raw

    # The parsed headers are a list of one-entry objects, in mail order.
    pairs = [
        (str(name), str(value))
        for item in content.get("headers") or []
        if isinstance(item, dict)
        for name, value in item.items()
    ]
    if not pairs and not relay.get("friendly_from"):
        raise InputError(
            "SparkPost relay message has neither email_rfc822 nor headers",
            field="content.email_rfc822",
        )
    if not any(name.lower() == "from" for name, _ in pairs):
        pairs.append(("From", str(relay.get("friendly_from") or relay.get("msg_from"))))
    return rebuild_mime(pairs, body_part(content, "text"), body_part(content, "html"))


def parse_relay_message(relay: dict[str, Any]) -> InboundEvent:
    """Parse one ``relay_message`` into an ``InboundEvent``."""
    return mail_event(
        sparkpost_raw_mime(relay),
        provider=PROVIDER,
        payload=json.dumps(relay, ensure_ascii=False),
        extra={
            "envelope_sender": relay.get("msg_from"),
            "envelope_recipient": relay.get("rcpt_to"),
            "relay_webhook_id": relay.get("webhook_id"),
        },
    )


def parse_sparkpost(body: bytes) -> Batch:
    """Parse a relay webhook batch: one event per readable relay message."""
    batch = read_json(body, "SparkPost")
    if not isinstance(batch, list):
        raise InputError(
            "SparkPost relay webhook body must be a JSON array of events, got "
            f"{type(batch).__name__}"
        )
    return parse_batch(batch, _relay_event, "batch")


def _relay_event(item: Any) -> InboundEvent:
    msys = item.get("msys") if isinstance(item, dict) else None
    relay = msys.get("relay_message") if isinstance(msys, dict) else None
    if not isinstance(relay, dict):
        raise InputError(
            "no msys.relay_message; is this a relay webhook (not an event webhook)?"
        )
    return parse_relay_message(relay)
