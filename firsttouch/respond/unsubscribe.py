"""One-click unsubscribe: signed links, RFC 8058 headers and the opt-out.

A link carries a token signed with the process secret that names the
channel and the address, so the endpoint needs no lookup to know whom to
stop and a forged or edited link is refused. RFC 8058 asks for an HTTPS
URI in ``List-Unsubscribe`` and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click``; a mail provider then POSTs to the URI with
that body and no cookies, and the opt-out must take effect without any
further step. A ``mailto:`` URI is offered too (RFC 2369) for clients that
prefer mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from firsttouch.config import Secret
from firsttouch.errors import InputError
from firsttouch.respond.consent import record_opt_out

SALT = "firsttouch.unsubscribe"


@dataclass(frozen=True)
class UnsubscribeTarget:
    """Whom a link stops, on which channel, and the touch it came in."""

    channel: str
    address: str
    touch_key: str | None = None


def _serializer(secret: Secret) -> URLSafeSerializer:
    return URLSafeSerializer(secret.reveal(), salt=SALT)


def make_token(secret: Secret, target: UnsubscribeTarget) -> str:
    """Return the signed token for ``target``."""
    data = [target.channel, target.address, target.touch_key or ""]
    return str(_serializer(secret).dumps(data))


def read_token(secret: Secret, token: str) -> UnsubscribeTarget:
    """Return the target of a token; raise ``InputError`` if it was not ours."""
    try:
        channel, address, touch_key = _serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError) as exc:
        raise InputError(
            "this unsubscribe link is not valid; use the link from the email",
            field="token",
        ) from exc
    return UnsubscribeTarget(str(channel), str(address), str(touch_key) or None)


def unsubscribe_url(public_url: str, token: str) -> str:
    """Return the one-click URL for ``token``."""
    return f"{public_url.rstrip('/')}/u/{token}"


def list_unsubscribe_headers(url: str, mailto: str | None) -> dict[str, str]:
    """Return ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058)."""
    uris = [f"<{url}>"]
    if mailto:
        uris.append(f"<mailto:{mailto}?subject=unsubscribe>")
    return {
        "List-Unsubscribe": ", ".join(uris),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def unsubscribe(
    session: Session, target: UnsubscribeTarget, *, source: str, now: datetime
) -> None:
    """Record the opt-out a link or a reply asked for (idempotent)."""
    record_opt_out(
        session,
        target.channel,
        target.address,
        source=source,
        now=now,
        evidence=f"touch {target.touch_key}" if target.touch_key else None,
    )
