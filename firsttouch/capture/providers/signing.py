"""HMAC checks shared by the providers that sign with a shared secret.

Every comparison is constant-time (``hmac.compare_digest``). A failed check
raises ``SignatureError`` (401) naming the header and what was wrong, never
the expected value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from firsttouch.config import Secret
from firsttouch.errors import SignatureError


def hmac_hex(secret: Secret | str, message: bytes, digest: str = "sha256") -> str:
    """Return the hex HMAC of ``message`` under ``secret``."""
    key = secret.reveal() if isinstance(secret, Secret) else secret
    return hmac.new(key.encode(), message, digest).hexdigest()


def hmac_base64(secret: Secret | str, message: bytes, digest: str = "sha256") -> str:
    """Return the base64 HMAC of ``message`` under ``secret``."""
    key = secret.reveal() if isinstance(secret, Secret) else secret
    return base64.b64encode(hmac.new(key.encode(), message, digest).digest()).decode()


def require_header(value: str | None, header: str, provider: str) -> str:
    """Return the header's value, or refuse a request that lacks it."""
    if not value or not value.strip():
        raise SignatureError(
            f"{provider} webhook without the {header} header; the request was not "
            "signed, so it was refused and nothing was stored"
        )
    return value.strip()


def check_equal(presented: str, expected: str, header: str, provider: str) -> None:
    """Compare two signatures in constant time; raise ``SignatureError`` if unequal."""
    if not hmac.compare_digest(presented.strip().lower(), expected.lower()):
        raise SignatureError(
            f"{provider} {header} does not match the body; check that the secret "
            "configured in firsttouch is the one the provider signs with"
        )


def check_prefixed_hex(
    header_value: str | None,
    body: bytes,
    secret: Secret,
    *,
    header: str,
    provider: str,
    prefix: str,
    digest: str,
) -> None:
    """Check a ``<prefix><hex HMAC of body>`` header (Meta, Intercom, Cal.com)."""
    value = require_header(header_value, header, provider)
    if prefix and not value.lower().startswith(prefix):
        raise SignatureError(
            f"{provider} {header} must start with {prefix!r}; got another scheme"
        )
    check_equal(value[len(prefix) :], hmac_hex(secret, body, digest), header, provider)


def body_digest(body: bytes) -> str:
    """Return the hex SHA-256 of a body (used in error reports and fixtures)."""
    return hashlib.sha256(body).hexdigest()
