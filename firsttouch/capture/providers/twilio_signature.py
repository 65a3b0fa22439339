"""Twilio's ``X-Twilio-Signature``, checked with the Twilio SDK's own validator.

Twilio signs the URL it called, so behind a reverse proxy or tunnel the URL
this process sees (``http://127.0.0.1:8000/...``) is not the one signed. The
check therefore rebuilds the URL from the public base URL configured in the
settings (``FIRSTTOUCH_PUBLIC_URL``) plus the request's path and query.
"""

from __future__ import annotations

from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from firsttouch.capture.providers.payloads import FormFields
from firsttouch.capture.providers.signing import require_header
from firsttouch.config import Secret
from firsttouch.errors import SignatureError

HEADER = "X-Twilio-Signature"


def public_request_url(public_url: str, path: str, query: str = "") -> str:
    """Return the URL Twilio called: the public base, the path and the query."""
    url = public_url.rstrip("/") + "/" + path.lstrip("/")
    return f"{url}?{query}" if query else url


def verify_twilio_signature(
    token: Secret,
    url: str,
    params: FormFields | str,
    signature: str | None,
    settings_header: str | None = None,
) -> None:
    """Raise ``SignatureError`` unless ``signature`` is Twilio's for this request.

    ``params`` is the form body, or the raw text of a JSON body (Twilio then
    signs the URL with a ``bodySHA256`` query parameter instead).
    """
    presented = require_header(signature, HEADER, "Twilio")
    algorithm = get_signature_algorithm(settings_header)
    validator = RequestValidator(token.reveal())
    if not validator.validate(url, params, presented, algorithm):
        raise SignatureError(
            f"Twilio {HEADER} does not match {url}; check FIRSTTOUCH_PUBLIC_URL is "
            "the URL configured in the Twilio console and the auth token is the "
            "account's"
        )


__all__ = [
    "HEADER",
    "SIGNATURE_SETTINGS_HEADER",
    "public_request_url",
    "verify_twilio_signature",
]
