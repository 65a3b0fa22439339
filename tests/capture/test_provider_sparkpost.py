"""SparkPost relay webhooks: batches of relayed mail, behind a token or Basic auth."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.sparkpost import parse_sparkpost
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.mail_webhook_support import MAIL_SECRETS, basic, the_email_lead
from tests.capture.provider_support import (
    fixture_bytes,
    fixture_json,
    inbounds,
    with_provider_secrets,
)

URL = "/capture/email/sparkpost"
TOKEN = {"X-MessageSystems-Webhook-Token": MAIL_SECRETS["SPARKPOST_WEBHOOK_TOKEN"]}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings, **MAIL_SECRETS)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def test_sparkpost_base64_relay_message_becomes_an_email_lead() -> None:
    [event] = parse_sparkpost(fixture_bytes("sparkpost_relay.json")).events
    assert (event.channel, event.provider) == ("email", "sparkpost")
    assert event.dedupe_key.startswith("email:hl-20260310-77@harbourline.example:")
    assert event.person.email == "kwame@harbourline.example"
    assert event.fields["html_only"] is True
    assert "900 invoices a month" in (event.body_text or "")
    assert event.fields["relay_webhook_id"] == "639424598401256901"


def test_sparkpost_without_the_raw_mail_is_rebuilt_from_its_parts() -> None:
    batch = fixture_json("sparkpost_relay.json")
    content = batch[0]["msys"]["relay_message"]["content"]
    content["email_rfc822"] = None
    content["text"] = "Plain words about invoices."
    [event] = parse_sparkpost(json.dumps(batch).encode()).events
    assert event.person.email == "kwame@harbourline.example"
    assert event.subject == "Replacing our AP spreadsheet"
    assert "Plain words about invoices." in (event.body_text or "")


@pytest.mark.parametrize(
    "headers",
    [TOKEN, basic(MAIL_SECRETS["SPARKPOST_INBOUND_AUTH"])],
    ids=["webhook token", "basic auth"],
)
def test_sparkpost_batch_is_stored_once_as_a_lead_with_contact_and_owner(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    body = fixture_bytes("sparkpost_relay.json")
    responses = [client.post(URL, content=body, headers=headers) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].json()["duplicates"] == 1
    _stored, contact = the_email_lead(runtime, "sparkpost")
    assert contact.email == "kwame@harbourline.example"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-MessageSystems-Webhook-Token": "guessed"},
        basic("relay:guessed"),
    ],
    ids=["nothing", "wrong token", "wrong password"],
)
def test_sparkpost_without_the_token_or_password_is_401_and_stores_nothing(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    response = client.post(
        URL, content=fixture_bytes("sparkpost_relay.json"), headers=headers
    )
    assert response.status_code == 401 and inbounds(runtime) == []


def test_sparkpost_empty_batch_is_acknowledged(
    client: TestClient, runtime: Runtime
) -> None:
    response = client.post(URL, content=b"[]", headers=TOKEN)
    assert response.status_code == 200 and response.json()["inbound_ids"] == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"msys": {}}', "must be a JSON array"),
        (b'[{"msys": {"message_event": {}}}]', "no msys.relay_message"),
        (
            b'[{"msys": {"relay_message": {"rcpt_to": "a@b.example"}}}]',
            "without content",
        ),
    ],
)
def test_sparkpost_unreadable_batch_is_400_with_the_reason(
    client: TestClient, runtime: Runtime, body: bytes, reason: str
) -> None:
    response = client.post(URL, content=body, headers=TOKEN)
    assert response.status_code == 400
    assert reason in response.json()["error"]["message"]
    assert inbounds(runtime) == []


def test_sparkpost_event_webhook_item_in_a_relay_batch_is_named_not_fatal(
    client: TestClient, runtime: Runtime
) -> None:
    batch = fixture_json("sparkpost_relay.json")
    batch.insert(0, {"msys": {"message_event": {"type": "delivery"}}})
    response = client.post(URL, content=json.dumps(batch).encode(), headers=TOKEN)

    assert response.status_code == 200
    assert response.json()["rejected"][0].startswith("batch[0]: no msys.relay_message")
    the_email_lead(runtime, "sparkpost")
