"""Svix webhook signatures (Resend signs its webhooks through Svix).

Each delivery carries ``svix-id``, ``svix-timestamp`` (Unix seconds) and
``svix-signature``: space-separated ``v1,<base64>`` entries, each a base64
HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under the endpoint secret,
which is ``whsec_`` + base64 key bytes. More than one entry appears while
a secret is being rotated; any one matching is enough. A timestamp more
than five minutes from now is refused as a replay
(https://docs.svix.com/receiving/verifying-payloads/how-manual).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

from firsttouch.capture.providers.config import ProviderNotConfiguredError
from firsttouch.capture.providers.signing import require_header
from firsttouch.config import Secret
from firsttouch.errors import SignatureError

TOLERANCE = timedelta(minutes=5)
HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


def svix_key(secret: Secret, variable: str) -> bytes:
    """The HMAC key bytes of a ``whsec_...`` secret."""
    text = secret.reveal().strip()
    try:
        return base64.b64decode(text.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderNotConfiguredError(
            f"{variable} is not a Svix signing secret (whsec_ followed by base64); "
            "copy it again from the provider's webhook page"
        ) from exc


def svix_signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    """The base64 HMAC-SHA256 Svix puts after ``v1,``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify_svix_signature(
    headers: Mapping[str, str],
    body: bytes,
    key: bytes,
    now: datetime,
    provider: str,
) -> str:
    """Check the three Svix headers; return ``svix-id`` (stable across retries)."""
    message_id, timestamp, signatures = (
        require_header(headers.get(name), name, provider) for name in HEADERS
    )
    if not timestamp.isdigit():
        raise SignatureError(f"{provider} svix-timestamp is not Unix seconds")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE.total_seconds():
        raise SignatureError(
            f"{provider} svix-timestamp is more than 5 minutes from now; refused "
            "as a replay (check this server's clock if every delivery fails)"
        )

    expected = svix_signature(key, message_id, timestamp, body).encode()
    presented = [
        entry.partition(",")[2].encode()
        for entry in signatures.split()
        if entry.startswith("v1,")
    ]
    if not any(hmac.compare_digest(p, expected) for p in presented):
        raise SignatureError(
            f"{provider} svix-signature does not match the body; check that the "
            "signing secret configured in firsttouch is this webhook's"
        )
    return message_id
