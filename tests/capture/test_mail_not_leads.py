"""Inbound mail that cannot become a lead is answered like every webhook.

A message with no sender to answer (or a bounce, an auto-reply) is stored
as recorded; the 200 lists it in ``not_leads`` with the reason, the same
answer the form, CRM and chat webhooks give.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.app_hooks_support import with_app_secrets
from tests.capture.mail_webhook_support import MAIL_SECRETS, basic
from tests.capture.provider_support import fixture_bytes, fixture_json, inbounds


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings, **MAIL_SECRETS)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def _only_not_lead(response: object, runtime: Runtime) -> str:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    answer = response.json()  # type: ignore[attr-defined]
    (stored,) = inbounds(runtime)
    assert stored.status == "recorded" and stored.contact_id is None
    assert answer["not_leads"] == [
        {"inbound_id": stored.id, "reason": stored.fields["not_a_lead"]}
    ]
    return str(answer["not_leads"][0]["reason"])


def test_a_brevo_item_without_a_sender_is_a_not_lead_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("brevo_inbound.json")
    item = payload["items"][0]
    item["From"] = None
    del item["Headers"]["From"]

    response = client.post(
        "/capture/email/brevo",
        content=json.dumps(payload).encode(),
        headers=basic(MAIL_SECRETS["BREVO_INBOUND_AUTH"]),
    )

    assert "no sender address" in _only_not_lead(response, runtime)


def test_a_mailersend_message_from_no_address_is_a_not_lead_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("mailersend_inbound.json")
    data = payload["data"]
    data["raw"] = data["raw"].replace(
        "From: Jonas Berg <jonas.berg@fjordkraft-byg.example>", "From: weird"
    )
    data["from"] = "weird"
    body = json.dumps(payload).encode()
    secret = MAIL_SECRETS["MAILERSEND_INBOUND_SECRET"].encode()
    signature = hmac.new(secret, body, hashlib.sha256).hexdigest()

    response = client.post(
        "/capture/email/mailersend",
        content=body,
        headers={"Signature": signature, "Content-Type": "application/json"},
    )

    assert "no sender address" in _only_not_lead(response, runtime)


def test_a_lead_by_mail_is_answered_with_an_empty_not_leads(
    client: TestClient, runtime: Runtime
) -> None:
    response = client.post(
        "/capture/email/brevo",
        content=fixture_bytes("brevo_inbound.json"),
        headers=basic(MAIL_SECRETS["BREVO_INBOUND_AUTH"]),
    )

    assert response.status_code == 200
    assert response.json()["not_leads"] == []
    assert inbounds(runtime)[0].status not in ("recorded", "accepted")
