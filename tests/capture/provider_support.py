"""Shared pieces of the provider webhook tests: fixtures on disk, secrets,
the public URL Twilio signs, and a look at what was stored."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.models import Inbound
from firsttouch.web.apikeys import create_api_key

FIXTURES = Path(__file__).parent / "fixtures"
PUBLIC_URL = "https://leads.northwindledger.example"
TWILIO_TOKEN = "test-twilio-token"

SECRETS = {
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "META_APP_SECRET": "meta-app-secret-for-tests",
    "META_VERIFY_TOKEN": "meta-verify-token-for-tests",
    "META_PAGE_ACCESS_TOKEN": "EAAB-page-token-for-tests",
    "LINKEDIN_CLIENT_SECRET": "linkedin-client-secret-for-tests",
    "CALENDLY_WEBHOOK_SIGNING_KEY": "calendly-signing-key-for-tests",
    "CALCOM_WEBHOOK_SECRET": "calcom-secret-for-tests",
    "INTERCOM_CLIENT_SECRET": "intercom-client-secret-for-tests",
    "GENERIC_CHAT_SECRET": "generic-chat-secret-for-tests",
    "MAILGUN_WEBHOOK_SIGNING_KEY": "key-mailgun-signing-for-tests",
    "SENDGRID_INBOUND_AUTH": "parse:sendgrid-pass-for-tests",
    "POSTMARK_INBOUND_AUTH": "inbound:postmark-pass-for-tests",
}


def with_provider_secrets(settings: Settings, **extra: str) -> Settings:
    """The test settings with every provider's secret and a public URL."""
    return settings.with_overrides(
        env={**settings.env, **SECRETS, **extra}, public_url=PUBLIC_URL
    )


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def basic_auth(secret_name: str) -> dict[str, str]:
    token = base64.b64encode(SECRETS[secret_name].encode()).decode()
    return {"Authorization": f"Basic {token}"}


def inbounds(runtime: Runtime) -> list[Inbound]:
    """Every stored inbound, oldest first."""
    with runtime.db.sessions() as session:
        return list(session.scalars(select(Inbound).order_by(Inbound.id)))


def inbound_by_key(runtime: Runtime, key: str) -> Inbound | None:
    with runtime.db.sessions() as session:
        return session.scalar(select(Inbound).where(Inbound.dedupe_key == key))


def post_api_inbound(client: TestClient, runtime: Runtime, occurred_at: Any) -> Inbound:
    """POST /api/inbounds with ``occurred_at`` as given; the one inbound stored."""
    key = {"X-Api-Key": create_api_key(runtime.db, "partner", runtime.clock)}
    body = {"person": {"email": "ref@partner.example"}, "occurred_at": occurred_at}

    response = client.post("/api/inbounds", json=body, headers=key)

    assert response.status_code == 202, response.text
    (inbound,) = inbounds(runtime)
    return inbound
