"""Secrets and signers of the form, CRM, chat and automation webhook tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from sqlalchemy import func, select

from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.models import Contact, Inbound, Job
from tests.capture.provider_support import (
    PUBLIC_URL,
    SECRETS,
    with_provider_secrets,
)

APP_SECRETS = {
    "TYPEFORM_WEBHOOK_SECRET": "typeform-secret-for-tests",
    "FORMSORT_WEBHOOK_SECRET": "formsort-secret-for-tests",
    "HUBSPOT_CLIENT_SECRET": "hubspot-client-secret-for-tests",
    "CLOSE_WEBHOOK_SIGNATURE_KEY": "8f3a1c9e5b7d2f4a6c8e0b1d3f5a7c9e",
    "OLARK_WEBHOOK_SECRET": "olark-secret-for-tests",
    "GENERIC_LEAD_SECRET": "generic-lead-secret-for-tests",
}


def with_app_secrets(settings: Settings, **extra: str) -> Settings:
    """The test settings with every provider's secret, these ones included."""
    return with_provider_secrets(settings, **APP_SECRETS, **extra)


def typeform_headers(body: bytes, secret: str | None = None) -> dict[str, str]:
    key = (secret or APP_SECRETS["TYPEFORM_WEBHOOK_SECRET"]).encode()
    digest = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    return {
        "Typeform-Signature": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def hubspot_headers(
    body: bytes,
    path: str,
    now: datetime,
    *,
    secret: str | None = None,
    age_seconds: float = 0,
) -> dict[str, str]:
    """v3 headers for a POST of ``body`` to ``path`` on the public URL."""
    stamp = str(int((now.timestamp() - age_seconds) * 1000))
    message = b"POST" + (PUBLIC_URL + path).encode() + body + stamp.encode()
    key = (secret or APP_SECRETS["HUBSPOT_CLIENT_SECRET"]).encode()
    digest = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())
    return {
        "X-HubSpot-Signature-v3": digest.decode(),
        "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-Version": "v3",
        "Content-Type": "application/json",
    }


def close_headers(
    body: bytes, now: datetime, *, key_hex: str | None = None, age_seconds: int = 0
) -> dict[str, str]:
    stamp = str(int(now.timestamp()) - age_seconds)
    key = bytes.fromhex(key_hex or APP_SECRETS["CLOSE_WEBHOOK_SIGNATURE_KEY"])
    digest = hmac.new(key, stamp.encode() + body, hashlib.sha256).hexdigest()
    return {
        "close-sig-hash": digest,
        "close-sig-timestamp": stamp,
        "Content-Type": "application/json",
    }


def meta_headers(body: bytes, secret: str | None = None) -> dict[str, str]:
    key = (secret or SECRETS["META_APP_SECRET"]).encode()
    digest = hmac.new(key, body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def secret_header(name: str, value: str | None = None) -> dict[str, str]:
    return {
        "X-Firsttouch-Secret": value or APP_SECRETS[name],
        "Content-Type": "application/json",
    }


def store_counts(runtime: Runtime) -> tuple[int, int, int]:
    """How many inbounds, contacts and jobs are stored: a retry changes none."""
    with runtime.db.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Inbound)) or 0,
            session.scalar(select(func.count()).select_from(Contact)) or 0,
            session.scalar(select(func.count()).select_from(Job)) or 0,
        )


def contact_of(runtime: Runtime, inbound: Inbound) -> Contact:
    """The contact an inbound was tied to."""
    with runtime.db.sessions() as session:
        contact = session.get(Contact, inbound.contact_id)
    assert contact is not None, f"inbound {inbound.id} has no contact"
    return contact
