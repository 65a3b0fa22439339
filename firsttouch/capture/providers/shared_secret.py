"""Authentication for the senders that cannot sign: a secret they repeat.

Form builders, chat tools and automation services (Formsort, Olark, Zapier)
let their owner type a URL and, at best, a header; they do not compute an
HMAC. firsttouch accepts the configured secret either in the
``X-Firsttouch-Secret`` header or as the password of Basic auth, which such
tools send when the URL reads ``https://any-user:SECRET@host/...``. Both are
compared in constant time and neither is ever logged.

Signers whose digest is base64 (Typeform, HubSpot) compare here too: base64
is case-sensitive, so the digest must match byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from firsttouch.config import Secret
from firsttouch.errors import SignatureError

SECRET_HEADER = "X-Firsttouch-Secret"  # noqa: S105 - a header name, not a secret


def basic_credentials(authorization: str | None) -> str:
    """The ``user:password`` of a Basic ``Authorization`` header, or ""."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return ""
    try:
        return base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return ""


def presented_secret(header_value: str | None, authorization: str | None) -> str:
    """The secret a request carries: the header's value, else Basic's password."""
    if header_value and header_value.strip():
        return header_value.strip()
    return basic_credentials(authorization).partition(":")[2]


def check_shared_secret(
    header_value: str | None,
    authorization: str | None,
    secret: Secret,
    *,
    provider: str,
    variable: str,
) -> None:
    """Refuse the request (401) unless it carries ``secret``."""
    presented = presented_secret(header_value, authorization)
    if not presented:
        raise SignatureError(
            f"{provider} webhook without a secret: send the value of {variable} "
            f"in the {SECRET_HEADER} header, or as the password of the webhook "
            "URL (https://firsttouch:SECRET@your-host/...); nothing was stored"
        )
    if not hmac.compare_digest(presented.encode(), secret.reveal().encode()):
        raise SignatureError(
            f"{provider} webhook secret does not match {variable}; nothing was stored"
        )


def check_base64_digest(
    presented: str, expected: str, *, header: str, provider: str
) -> None:
    """Compare two base64 digests exactly, in constant time."""
    if not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise SignatureError(
            f"{provider} {header} does not match the request; check that the "
            "secret configured in firsttouch is the one the provider signs with"
        )
