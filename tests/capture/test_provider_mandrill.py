"""Mandrill inbound: signed form posts of ``mandrill_events``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.email_parse import email_to_event
from firsttouch.capture.providers.mandrill import parse_mandrill
from firsttouch.capture.providers.payloads import FormFields
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.mail_webhook_support import MAIL_SECRETS, the_email_lead
from tests.capture.provider_support import (
    PUBLIC_URL,
    fixture_bytes,
    fixture_json,
    inbounds,
    with_provider_secrets,
)

URL = "/capture/email/mandrill"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings, **MAIL_SECRETS)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def signed_post(
    events: Any, key: str = MAIL_SECRETS["MANDRILL_WEBHOOK_KEY"]
) -> dict[str, Any]:
    """The form and header Mandrill would send for these events."""
    value = events if isinstance(events, str) else json.dumps(events)
    # Mandrill's scheme, written out: URL, then each field's name and value.
    signed = f"{PUBLIC_URL}{URL}mandrill_events{value}".encode()
    digest = hmac.new(key.encode(), signed, hashlib.sha1).digest()
    return {
        "data": {"mandrill_events": value},
        "headers": {"X-Mandrill-Signature": base64.b64encode(digest).decode()},
    }


def test_mandrill_inbound_event_is_parsed_from_its_raw_mime() -> None:
    form = FormFields(
        [("mandrill_events", fixture_bytes("mandrill_inbound.json").decode())]
    )
    batch, others = parse_mandrill(form)
    [event] = batch.events
    assert others == 0
    assert (event.channel, event.provider) == ("email", "mandrill")
    assert event.dedupe_key.startswith("email:lys-4471@atelier-lys.example:")
    assert event.person.email == "renee.dubois@atelier-lys.example"
    assert event.person.full_name == "Renée Dubois"
    assert event.subject == "Demande de démonstration"
    assert "équipe comptable" in (event.body_text or "")
    assert event.fields["envelope_recipient"] == "leads@inbound.northwindledger.example"
    assert event.fields["spam_score"] == 0.2


def test_signed_mandrill_post_is_stored_once_as_a_lead_with_contact_and_owner(
    client: TestClient, runtime: Runtime
) -> None:
    post = signed_post(fixture_json("mandrill_inbound.json"))
    responses = [client.post(URL, **post) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].json()["duplicates"] == 1
    _stored, contact = the_email_lead(runtime, "mandrill")
    assert contact.email == "renee.dubois@atelier-lys.example"


@pytest.mark.parametrize("problem", ["wrong key", "tampered", "missing"])
def test_mandrill_bad_or_missing_signature_is_401_and_stores_nothing(
    client: TestClient, runtime: Runtime, problem: str
) -> None:
    events = fixture_json("mandrill_inbound.json")
    key = (
        "not-the-key"
        if problem == "wrong key"
        else MAIL_SECRETS["MANDRILL_WEBHOOK_KEY"]
    )
    post = signed_post(events, key)
    if problem == "tampered":
        events[0]["msg"]["email"] = "someone-else@example.com"
        post["data"] = {"mandrill_events": json.dumps(events)}
    if problem == "missing":
        post["headers"] = {}
    response = client.post(URL, **post)
    assert response.status_code == 401
    assert inbounds(runtime) == []


def test_mandrill_setup_check_and_empty_test_post_are_answered_200(
    client: TestClient, runtime: Runtime
) -> None:
    assert client.head(URL).status_code == 200
    response = client.post(URL, **signed_post([]))
    assert response.status_code == 200 and response.json()["ignored"]
    assert inbounds(runtime) == []


def test_mandrill_message_events_are_acknowledged_but_not_stored(
    client: TestClient, runtime: Runtime
) -> None:
    sent = [{"event": "send", "ts": 1773151080, "msg": {"_id": "abc", "state": "sent"}}]
    response = client.post(URL, **signed_post(sent))
    assert response.status_code == 200
    assert "none inbound" in response.json()["ignored"]
    assert inbounds(runtime) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"event": "inbound"}', "JSON list of objects"),
        ('[{"event": "inbound", "msg": {}}]', "without msg.raw_msg"),
    ],
)
def test_mandrill_unreadable_events_are_400_with_the_reason(
    client: TestClient, runtime: Runtime, value: str, reason: str
) -> None:
    response = client.post(URL, **signed_post(value))
    assert response.status_code == 400
    assert reason in response.json()["error"]["message"]
    assert inbounds(runtime) == []


def test_mandrill_mail_already_received_by_smtp_keys_as_the_same_inbound() -> None:
    raw = fixture_json("mandrill_inbound.json")[0]["msg"]["raw_msg"]
    by_smtp = email_to_event(raw.encode(), provider="smtp", source="email")
    form = FormFields(
        [("mandrill_events", fixture_bytes("mandrill_inbound.json").decode())]
    )
    batch, _others = parse_mandrill(form)
    assert batch.events[0].dedupe_key == by_smtp.dedupe_key
