"""Brevo inbound parsing: items of parsed mail, behind Basic auth."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.brevo import parse_brevo
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

URL = "/capture/email/brevo"
AUTH = basic(MAIL_SECRETS["BREVO_INBOUND_AUTH"])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings, **MAIL_SECRETS)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def test_brevo_item_becomes_an_email_lead_keyed_on_its_message_id() -> None:
    [event] = parse_brevo(fixture_bytes("brevo_inbound.json")).events
    assert (event.channel, event.kind, event.provider) == ("email", "message", "brevo")
    assert event.dedupe_key.startswith("email:b7e2.20260310.lena@alpenholz.example:")
    assert event.person.email == "lena.fischer@alpenholz.example"
    assert event.person.first_name == "Lena"
    assert event.subject == "Angebot für 40 Nutzer"
    assert "Rechnungsfreigaben für 40 Nutzer" in (event.body_text or "")
    assert event.fields["spam_score"] == 0.4
    assert event.fields["stripped_text"].startswith("Wir brauchen")
    [attachment] = event.fields["attachments"]
    assert attachment["filename"] == "anforderungen.pdf"
    assert json.loads(event.raw or "")["Uuid"] == [
        "6c1f2a9e-4d7b-4e0a-9b3c-2f8e71d05a44"
    ]


def test_brevo_item_without_a_message_id_is_keyed_on_brevos_uuid() -> None:
    payload = fixture_json("brevo_inbound.json")
    item = payload["items"][0]
    item["MessageId"] = None
    del item["Headers"]["Message-ID"]
    [event] = parse_brevo(json.dumps(payload).encode()).events
    assert event.dedupe_key == "brevo:6c1f2a9e-4d7b-4e0a-9b3c-2f8e71d05a44"


def test_brevo_html_only_item_is_read_as_text() -> None:
    payload = fixture_json("brevo_inbound.json")
    payload["items"][0]["RawTextBody"] = None
    [event] = parse_brevo(json.dumps(payload).encode()).events
    assert event.fields["html_only"] is True
    assert "Rechnungsfreigaben" in (event.body_text or "")


def test_brevo_post_is_stored_once_as_a_lead_with_contact_and_owner(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("brevo_inbound.json")
    headers = {**AUTH, "Content-Type": "application/json"}
    first = client.post(URL, content=body, headers=headers)
    retry = client.post(URL, content=body, headers=headers)

    assert first.status_code == retry.status_code == 200
    assert retry.json()["duplicates"] == 1
    assert retry.json()["inbound_ids"] == first.json()["inbound_ids"]
    stored, contact = the_email_lead(runtime, "brevo")
    assert contact.email == "lena.fischer@alpenholz.example"
    assert stored.subject == "Angebot für 40 Nutzer"


@pytest.mark.parametrize(
    "headers", [{}, basic("brevo:guess")], ids=["no auth", "wrong password"]
)
def test_brevo_without_the_configured_basic_auth_is_401_and_stores_nothing(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    response = client.post(
        URL, content=fixture_bytes("brevo_inbound.json"), headers=headers
    )
    assert response.status_code == 401
    assert "BREVO_INBOUND_AUTH" in response.json()["error"]["message"]
    assert inbounds(runtime) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"event": "delivered"}', "no items list"),
        (b'{"items": ["a string"]}', "items[0]: the item is not an object"),
        (b'{"items": [{"Subject": "no sender"}]}', "neither From nor Headers"),
    ],
)
def test_brevo_unreadable_post_is_400_with_the_reason(
    client: TestClient, runtime: Runtime, body: bytes, reason: str
) -> None:
    response = client.post(URL, content=body, headers=AUTH)
    assert response.status_code == 400
    assert reason in response.json()["error"]["message"]
    assert inbounds(runtime) == []


def test_brevo_bad_item_beside_a_good_one_is_named_and_the_good_one_kept(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("brevo_inbound.json")
    payload["items"].append({"Subject": "no sender, no headers"})
    response = client.post(URL, content=json.dumps(payload).encode(), headers=AUTH)

    assert response.status_code == 200
    [reason] = response.json()["rejected"]
    assert reason.startswith("items[1]:") and "neither From nor Headers" in reason
    _stored, contact = the_email_lead(runtime, "brevo")
    assert contact.email == "lena.fischer@alpenholz.example"


def test_brevo_auto_reply_is_recorded_but_makes_no_lead(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("brevo_inbound.json")
    item = payload["items"][0]
    item["Headers"]["Auto-Submitted"] = "auto-replied"
    item["Subject"] = item["Headers"]["Subject"] = "Abwesenheitsnotiz"
    [event] = parse_brevo(json.dumps(payload).encode()).events
    assert event.creates_lead is False
    assert event.fields["auto_submitted"]

    response = client.post(URL, content=json.dumps(payload).encode(), headers=AUTH)
    assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert stored.owner_id is None


def test_brevo_lead_forwarded_by_a_colleague_is_the_original_sender() -> None:
    payload = fixture_json("brevo_inbound.json")
    item = payload["items"][0]
    item["From"] = {"Name": "Maya Chen", "Address": "maya@northwindledger.example"}
    item["Headers"]["From"] = "Maya Chen <maya@northwindledger.example>"
    item["RawHtmlBody"] = None
    item["RawTextBody"] = (
        "FYI, a lead for you.\n\n---------- Forwarded message ---------\n"
        "From: Lena Fischer <lena.fischer@alpenholz.example>\n"
        "Subject: Angebot für 40 Nutzer\n\nWir brauchen Rechnungsfreigaben.\n"
    )
    [event] = parse_brevo(json.dumps(payload).encode()).events
    assert event.person.email == "lena.fischer@alpenholz.example"
    assert event.fields["forwarded_by"] == "maya@northwindledger.example"
