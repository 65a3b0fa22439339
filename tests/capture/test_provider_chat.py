"""Chat webhooks: Intercom (the native provider) and the generic format."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.generic_chat import parse_generic_chat
from firsttouch.capture.providers.intercom import html_to_text, parse_intercom
from firsttouch.config import Settings
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from tests.capture.provider_support import (
    SECRETS,
    fixture_bytes,
    fixture_json,
    inbounds,
    with_provider_secrets,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings)


def intercom_headers(
    body: bytes, secret: str = SECRETS["INTERCOM_CLIENT_SECRET"]
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"X-Hub-Signature": f"sha1={digest}", "Content-Type": "application/json"}


def generic_headers(
    body: bytes, secret: str = SECRETS["GENERIC_CHAT_SECRET"]
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Firsttouch-Signature": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def test_intercom_new_contact_is_a_chat_lead_keyed_on_the_notification() -> None:
    event = parse_intercom(fixture_bytes("intercom_contact_created.json"))
    assert (event.channel, event.kind, event.source) == ("chat", "chat", "intercom")
    assert event.dedupe_key == "intercom:notif_0c9e8d7f-1a2b-4c3d-9e8f-001122334455"
    assert event.person.email == "oliver.brandt@fjordtech.example"
    assert event.person.company == "Fjordtech GmbH"
    assert event.person.timezone == "Europe/Berlin"
    assert event.utm["utm_campaign"] == "dach-q1"


def test_intercom_admin_action_is_recorded_but_not_a_lead() -> None:
    event = parse_intercom(fixture_bytes("intercom_admin_closed.json"))
    assert event.kind == "status" and not event.creates_lead
    assert event.body_text == "Do you support SEPA payments?"


def test_intercom_visitor_reply_is_the_latest_visitor_part() -> None:
    payload = fixture_json("intercom_admin_closed.json")
    payload["topic"] = "conversation.user.replied"
    payload["data"]["item"]["conversation_parts"]["conversation_parts"] = [
        {"author": {"type": "admin"}, "body": "<p>Yes!</p>"},
        {"author": {"type": "lead"}, "body": "<p>Great &amp; what about BACS?</p>"},
    ]
    event = parse_intercom(json.dumps(payload).encode())
    assert event.creates_lead and event.body_text == "Great & what about BACS?"


def test_html_bodies_keep_their_words_and_lines() -> None:
    assert html_to_text("<p>One</p><p>Two<br>Three</p>") == "One\nTwo\nThree"


def test_signed_intercom_contact_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("intercom_contact_created.json")
    response = client.post(
        "/capture/chat/intercom", content=body, headers=intercom_headers(body)
    )
    assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert stored.channel == "chat" and stored.contact_id and stored.owner_id


def test_intercom_bad_signature_is_401(client: TestClient, runtime: Runtime) -> None:
    body = fixture_bytes("intercom_contact_created.json")
    response = client.post(
        "/capture/chat/intercom", content=body, headers=intercom_headers(body, "wrong")
    )
    assert response.status_code == 401 and inbounds(runtime) == []


def test_generic_chat_message_is_a_chat_lead() -> None:
    event = parse_generic_chat(fixture_bytes("generic_chat_message.json"))
    assert (event.channel, event.kind, event.source) == ("chat", "chat", "website_chat")
    assert event.dedupe_key == "chat:website_chat:wchat-20260310-0042"
    assert event.person.full_name == "Lena Sørensen"
    assert event.fields["page_url"].endswith("/pricing")


def test_generic_chat_without_a_way_to_reach_the_visitor_is_refused() -> None:
    payload = fixture_json("generic_chat_message.json")
    payload["visitor"] = {"name": "Anonymous"}
    with pytest.raises(InputError, match="email or a phone"):
        parse_generic_chat(json.dumps(payload).encode())


def test_signed_generic_chat_is_stored_once(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("generic_chat_message.json")
    for _ in range(2):
        assert (
            client.post(
                "/capture/chat/generic", content=body, headers=generic_headers(body)
            ).status_code
            == 200
        )
    assert len(inbounds(runtime)) == 1


def test_generic_chat_unsigned_is_401_and_malformed_is_400(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("generic_chat_message.json")
    assert client.post("/capture/chat/generic", content=body).status_code == 401
    bad = b'{"id": "x"'
    assert (
        client.post(
            "/capture/chat/generic", content=bad, headers=generic_headers(bad)
        ).status_code
        == 400
    )
    assert inbounds(runtime) == []


def test_intercom_api_2_conversation_names_the_visitor_in_contacts() -> None:
    payload = fixture_json("intercom_admin_closed.json")
    item = payload["data"]["item"]
    item.pop("user")
    item.pop("conversation_message")
    item["contacts"] = {
        "type": "contact.list",
        "contacts": [
            {"type": "contact", "id": "c9", "email": "mira@alpine-dental.example"}
        ],
    }
    item["source"] = {
        "type": "conversation",
        "body": "<p>Pricing for 3 clinics?</p>",
        "author": {"type": "lead"},
    }
    payload["topic"] = "conversation.user.created"
    event = parse_intercom(json.dumps(payload).encode())
    assert event.person.email == "mira@alpine-dental.example"
    assert event.body_text == "Pricing for 3 clinics?" and event.creates_lead

    item["contacts"] = {"type": "contact.list", "contacts": []}
    assert parse_intercom(json.dumps(payload).encode()).person.email is None
