"""MailerSend inbound routes: signed ``inbound.message`` events."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.mailersend import parse_mailersend
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.mail_webhook_support import MAIL_SECRETS, the_email_lead
from tests.capture.provider_support import (
    fixture_bytes,
    fixture_json,
    inbounds,
    with_provider_secrets,
)

URL = "/capture/email/mailersend"
SECRET = MAIL_SECRETS["MAILERSEND_INBOUND_SECRET"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings, **MAIL_SECRETS)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Signature": digest, "Content-Type": "application/json"}


def test_mailersend_inbound_message_is_parsed_from_its_raw_mime() -> None:
    event = parse_mailersend(fixture_bytes("mailersend_inbound.json"))
    assert event is not None
    assert (event.channel, event.provider) == ("email", "mailersend")
    assert event.dedupe_key.startswith("email:fb-778@fjordkraft-byg.example:")
    assert event.person.email == "jonas.berg@fjordkraft-byg.example"
    assert "five-person finance team" in (event.body_text or "")
    assert event.fields["mailersend_id"] == "65e9f1a2b3c4d5e6f7a8b9c0"
    assert event.fields["envelope_recipients"] == [
        "sales@inbound.northwindledger.example"
    ]


def test_mailersend_without_raw_is_rebuilt_and_keyed_on_its_id() -> None:
    payload = fixture_json("mailersend_inbound.json")
    del payload["data"]["raw"]
    event = parse_mailersend(json.dumps(payload).encode())
    assert event is not None
    assert event.person.email == "jonas.berg@fjordkraft-byg.example"
    assert event.subject == "Trial for our finance team"
    assert "five-person finance team" in (event.body_text or "")
    assert event.dedupe_key == "mailersend:65e9f1a2b3c4d5e6f7a8b9c0"


def test_signed_mailersend_post_is_stored_once_as_a_lead_with_contact_and_owner(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("mailersend_inbound.json")
    responses = [client.post(URL, content=body, headers=signed(body)) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].json()["duplicates"] == 1
    _stored, contact = the_email_lead(runtime, "mailersend")
    assert contact.email == "jonas.berg@fjordkraft-byg.example"


@pytest.mark.parametrize("problem", ["wrong secret", "tampered", "missing"])
def test_mailersend_bad_or_missing_signature_is_401_and_stores_nothing(
    client: TestClient, runtime: Runtime, problem: str
) -> None:
    body = fixture_bytes("mailersend_inbound.json")
    headers = {
        "wrong secret": signed(body, "another-secret"),
        "tampered": signed(body.replace(b"five-person", b"fifty-person")),
        "missing": {"Content-Type": "application/json"},
    }[problem]
    assert client.post(URL, content=body, headers=headers).status_code == 401
    assert inbounds(runtime) == []


def test_mailersend_other_event_types_are_acknowledged_not_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = b'{"type": "activity.sent", "data": {"id": "x"}}'
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 200 and response.json()["ignored"]
    assert inbounds(runtime) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b'{"type": "inbound.message", "data": []}', "without a data object"),
        (
            b'{"type": "inbound.message", "data": {"subject": "x"}}',
            "without raw or from",
        ),
    ],
)
def test_mailersend_unreadable_post_is_400_with_the_reason(
    client: TestClient, runtime: Runtime, body: bytes, reason: str
) -> None:
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 400
    assert reason in response.json()["error"]["message"]
    assert inbounds(runtime) == []
