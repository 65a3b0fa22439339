"""Mailjet Parse API: one JSON message per post, behind Basic auth."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.mailjet import parse_mailjet
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

URL = "/capture/email/mailjet"
AUTH = basic(MAIL_SECRETS["MAILJET_INBOUND_AUTH"])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings, **MAIL_SECRETS)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def test_mailjet_parse_post_becomes_an_email_lead_with_its_attachment() -> None:
    event = parse_mailjet(fixture_bytes("mailjet_parse.json"))
    assert (event.channel, event.provider) == ("email", "mailjet")
    assert event.dedupe_key.startswith("email:CAL7q.9001@mail.vinhedo-foods.example:")
    assert event.person.email == "tomas.alves@vinhedo-foods.example"
    assert event.person.full_name == "Tomás Alves"
    assert "three legal entities" in (event.body_text or "")
    [attachment] = event.fields["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == (
        "entities.csv",
        "text/csv",
    )
    assert attachment["size"] > 0
    assert event.fields["envelope_recipient"] == "leads@parse.northwindledger.example"
    assert event.fields["spam_score"] == "0.9"


def test_mailjet_retry_rebuilds_the_same_key_without_a_message_id() -> None:
    payload = fixture_json("mailjet_parse.json")
    del payload["Headers"]["Message-ID"]
    body = json.dumps(payload).encode()
    assert parse_mailjet(body).dedupe_key == parse_mailjet(body).dedupe_key
    assert parse_mailjet(body).dedupe_key.startswith("email:sha256:")


def test_mailjet_post_is_stored_once_as_a_lead_with_contact_and_owner(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("mailjet_parse.json")
    responses = [client.post(URL, content=body, headers=AUTH) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].json()["duplicates"] == 1
    stored, contact = the_email_lead(runtime, "mailjet")
    assert contact.email == "tomas.alves@vinhedo-foods.example"
    assert stored.fields["attachments"][0]["filename"] == "entities.csv"


def test_mailjet_without_basic_auth_is_401_and_stores_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    response = client.post(URL, content=fixture_bytes("mailjet_parse.json"))
    assert response.status_code == 401 and inbounds(runtime) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[1, 2]", "must be a JSON object"),
        (b'{"Subject": "who sent this?"}', "neither From nor Headers"),
    ],
)
def test_mailjet_unreadable_post_is_400_with_the_reason(
    client: TestClient, runtime: Runtime, body: bytes, reason: str
) -> None:
    response = client.post(URL, content=body, headers=AUTH)
    assert response.status_code == 400
    assert reason in response.json()["error"]["message"]
    assert inbounds(runtime) == []


def test_mailjet_post_with_a_large_attachment_is_not_refused_for_its_size(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("mailjet_parse.json")
    pdf = b"%PDF-1.7 " + bytes(range(256)) * 10_000  # 2.5 MB, over the 1 MB cap
    payload["Attachment1"] = base64.b64encode(pdf).decode()
    body = json.dumps(payload).encode()
    assert len(body) > 2 * runtime.settings.max_body_bytes

    assert client.post(URL, content=body, headers=AUTH).status_code == 200
    stored, _contact = the_email_lead(runtime, "mailjet")
    assert stored.fields["attachments"][0]["size"] == len(pdf)
    # Other capture posts keep the general cap.
    other = client.post("/capture/chat/generic", content=body)
    assert other.status_code == 413
