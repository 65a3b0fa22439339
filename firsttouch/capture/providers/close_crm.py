"""Close CRM change events: recorded on the timeline, never a lead.

Close posts ``{"subscription_id", "event": {"id", "object_type", "action",
"object_id", "lead_id", "changed_fields", "data", "previous_data",
"date_created"}}`` for every change its subscription asks for
(https://developer.close.com/topics/webhooks/). These are the CRM's own
bookkeeping (a lead's status, an opportunity won, a group made, a
deletion): the buyer has not reached out, so each is recorded with that
reason and answered 200, and none starts a first response.

Close signs with ``close-sig-hash``: the hex HMAC-SHA256 of
``close-sig-timestamp`` + body under the subscription's ``signature_key``
(given in hex); an old timestamp is refused as a replay.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers.payloads import (
    raw_text,
    read_json_object,
    read_time,
    text_or_none,
)
from firsttouch.capture.providers.signing import check_equal, require_header
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError

PROVIDER = "close"
SOURCE = "close_crm"
SIGNATURE_HEADER = "close-sig-hash"
TIMESTAMP_HEADER = "close-sig-timestamp"
TOLERANCE = timedelta(minutes=5)


def _key(secret: Secret) -> bytes:
    # Close hands out the key hex-encoded; the HMAC is keyed on its bytes.
    text = secret.reveal()
    try:
        return bytes.fromhex(text)
    except ValueError:
        return text.encode()


def verify_close_signature(
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    secret: Secret,
    now: datetime,
) -> None:
    """Check ``close-sig-hash`` over timestamp + body, and the timestamp's age."""
    presented = require_header(signature, SIGNATURE_HEADER, "Close")
    stamp = require_header(timestamp, TIMESTAMP_HEADER, "Close")
    if not stamp.isdigit():
        raise SignatureError(f"Close {TIMESTAMP_HEADER} must be seconds since 1970")
    expected = hmac.new(_key(secret), stamp.encode() + body, hashlib.sha256)
    check_equal(presented, expected.hexdigest(), SIGNATURE_HEADER, "Close")
    age = now.timestamp() - int(stamp)
    if abs(age) > TOLERANCE.total_seconds():
        raise SignatureError(
            f"Close signature is {int(age)} s old; more than "
            f"{int(TOLERANCE.total_seconds())} s is refused as a replay"
        )


def parse_close(body: bytes) -> InboundEvent:
    """Parse one Close webhook into a recorded, non-lead ``InboundEvent``."""
    payload = read_json_object(body, "Close")
    event = payload.get("event")
    if not isinstance(event, dict):
        raise InputError("Close webhook without an event object", field="event")
    event_id = text_or_none(event.get("id"))
    object_type = text_or_none(event.get("object_type"))
    action = text_or_none(event.get("action"))
    if not event_id or not object_type or not action:
        raise InputError(
            "Close event needs id, object_type and action", field="event.id"
        )

    occurred, as_typed = read_time(event.get("date_created"))
    fields: dict[str, Any] = {
        **as_typed,
        "close_event": f"{object_type}.{action}",
        "object_id": event.get("object_id"),
        "close_lead_id": event.get("lead_id"),
        "subscription_id": payload.get("subscription_id"),
        "changed_fields": event.get("changed_fields") or None,
        "not_a_lead": (
            f"a Close {object_type} {action} event is a change in the CRM, not a "
            "buyer reaching out"
        ),
    }
    return InboundEvent(
        dedupe_key=f"close:{event_id}"[:255],
        channel="api",
        kind="status",
        source=SOURCE,
        provider=PROVIDER,
        provider_event_id=event_id,
        occurred_at=occurred,
        fields={k: v for k, v in fields.items() if v is not None},
        raw=raw_text(body),
        creates_lead=False,
    )
