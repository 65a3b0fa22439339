"""Twilio's ``X-Twilio-Signature``, checked with the Twilio SDK's own validator.

Twilio signs the URL it called, so behind a reverse proxy or tunnel the URL
this process sees (``http://127.0.0.1:8000/...``) is not the one signed. The
check therefore rebuilds the URL from the public base URL configured in the
settings (``FIRSTTOUCH_PUBLIC_URL``) plus the request's path and query.

Twilio signs two kinds of body two ways
(https://www.twilio.com/docs/usage/webhooks/webhooks-security):

- a form (``application/x-www-form-urlencoded``): the URL followed by every
  parameter, sorted by name;
- JSON (``application/json``): Twilio puts the hex SHA-256 of the raw body in
  the URL as a ``bodySHA256`` query parameter and signs that URL alone, so
  the body is checked against the hash and the hash by the signature.

``read_signed_params`` tells them apart by ``Content-Type`` and returns the
request's parameters either way: a JSON body is read as the same named
parameters its form would carry, so every Twilio route parses both alike.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from firsttouch.capture.providers.payloads import (
    FormFields,
    read_form,
    read_json_object,
)
from firsttouch.capture.providers.signing import require_header
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError

HEADER = "X-Twilio-Signature"
BODY_HASH_PARAM = "bodySHA256"


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

    ``params`` is the form body, or the raw text of a JSON body; a JSON body
    is only accepted with its ``bodySHA256`` in ``url``, which the SDK then
    checks against the body before it checks the signature of the URL.
    """
    presented = require_header(signature, HEADER, "Twilio")
    if isinstance(params, str) and not _body_hash(url):
        raise SignatureError(
            f"Twilio signs a JSON body through a {BODY_HASH_PARAM} query "
            f"parameter and {url} has none; the webhook URL in the Twilio "
            "console must be the one this request was sent to"
        )
    algorithm = get_signature_algorithm(settings_header)
    validator = RequestValidator(token.reveal())
    if not validator.validate(url, params, presented, algorithm):
        raise SignatureError(
            f"Twilio {HEADER} does not match {url}; check FIRSTTOUCH_PUBLIC_URL is "
            "the URL configured in the Twilio console and the auth token is the "
            "account's"
        )


def read_signed_params(
    token: Secret,
    url: str,
    body: bytes,
    content_type: str | None,
    signature: str | None,
    settings_header: str | None = None,
) -> FormFields:
    """Check the request is Twilio's, then return its parameters.

    Raises ``SignatureError`` (401) for a missing or wrong signature, or a
    JSON body whose hash is not the one signed, before the body is trusted;
    ``InputError`` (400) for a signed body that cannot be read.
    """
    if not _is_json(content_type):
        form = read_form(body, "Twilio")
        verify_twilio_signature(token, url, form, signature, settings_header)
        return form

    require_header(signature, HEADER, "Twilio")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # RFC 8259 section 8.1: JSON exchanged between systems is UTF-8.
        raise InputError(f"Twilio JSON body is not UTF-8: {exc}") from exc
    verify_twilio_signature(token, url, text, signature, settings_header)
    return json_params(read_json_object(body, "Twilio"))


def json_params(payload: dict[str, object]) -> FormFields:
    """Read a JSON object as Twilio's named parameters.

    Scalars become text the way a form writes them (``true``, ``3``); a list
    of scalars becomes the parameter repeated, as ``MediaUrl`` would be in a
    form; a nested object is kept as its JSON text; nulls are left out.
    """
    pairs: list[tuple[str, str]] = []
    for name, value in payload.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                continue
            pairs.append((name, _as_text(item)))
    return FormFields(pairs)


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _body_hash(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(BODY_HASH_PARAM)
    return values[0] if values else None


__all__ = [
    "BODY_HASH_PARAM",
    "HEADER",
    "SIGNATURE_SETTINGS_HEADER",
    "json_params",
    "public_request_url",
    "read_signed_params",
    "verify_twilio_signature",
]
