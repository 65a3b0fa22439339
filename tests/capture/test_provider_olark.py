"""Olark: a transcript or offline message is a chat lead with its visitor."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.olark import offline_fields, parse_olark
from firsttouch.config import Settings
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.app_hooks_support import (
    APP_SECRETS,
    contact_of,
    secret_header,
    store_counts,
    with_app_secrets,
)
from tests.capture.provider_support import fixture_bytes, fixture_json, inbounds

URL = "/capture/chat/olark"
SECRET = "OLARK_WEBHOOK_SECRET"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def as_form(payload: bytes) -> bytes:
    """Olark's own encoding: the conversation JSON in a ``data`` field."""
    return urlencode({"data": payload.decode()}).encode()


def test_offline_message_lines_name_the_visitor() -> None:
    event = parse_olark(fixture_bytes("olark_offline_message.json"))
    assert (event.channel, event.kind, event.source) == ("chat", "chat", "olark")
    assert event.person.email == "amara.okafor@juniper-legal.example"
    # What the visitor typed wins over Olark's placeholder name.
    assert event.person.full_name == "Amara Okafor"
    assert event.person.phone == "+1 (646) 555-0142"
    assert event.person.country == "US"
    assert event.body_text == (
        "Nobody was online. Can someone walk us through approvals\nfor three offices?"
    )
    assert event.fields["offline_message"] is True
    assert event.fields["page_url"].endswith("/pricing")
    assert (
        event.dedupe_key == "olark:Qz81LmPc4Tn0Wv7Xy2Ab5Cd9Ef3Gh6Jk:1773140400.125001"
    )


def test_a_live_transcript_keeps_the_visitor_lines_not_the_operator_lines() -> None:
    payload = fixture_json("olark_offline_message.json")
    payload["items"] = [
        {
            "kind": "MessageToVisitor",
            "body": "Hello! How can I help?",
            "timestamp": "10.5",
        },
        {
            "kind": "MessageToOperator",
            "body": "Do you do 3-way match?",
            "timestamp": "12.0",
        },
        {"kind": "MessageToOperator", "body": "For POs over $5k", "timestamp": "9.0"},
    ]
    payload["visitor"].update(
        emailAddress="lee@ionic-cloud.example", fullName="Lee Park"
    )
    event = parse_olark(json.dumps(payload).encode())
    assert event.body_text == "Do you do 3-way match?\nFor POs over $5k"
    assert event.person.full_name == "Lee Park"
    # The latest item names the post, compared as numbers, not as text.
    assert event.dedupe_key.endswith(":12.0")


def test_offline_fields_ignore_an_unreadable_email_and_keep_the_message() -> None:
    facts, message = offline_fields("email: not-an-address\nMessage: hi\nthere")
    assert facts == {} and message == "hi\nthere"


def test_visitor_without_email_or_phone_is_recorded_not_a_lead() -> None:
    payload = fixture_json("olark_offline_message.json")
    payload["items"][0]["body"] = "Message: just browsing"
    event = parse_olark(json.dumps(payload).encode())
    assert not event.creates_lead and "no email or phone" in event.fields["not_a_lead"]


def test_form_post_without_data_and_other_kinds_are_refused() -> None:
    with pytest.raises(InputError, match="'data' field"):
        parse_olark(b"other=1", "application/x-www-form-urlencoded")
    with pytest.raises(InputError, match="only Conversation"):
        parse_olark(b'{"kind": "Visitor", "id": "x"}')


def test_olark_form_post_becomes_a_chat_lead_with_contact_and_owner(
    client: TestClient, runtime: Runtime
) -> None:
    body = as_form(fixture_bytes("olark_offline_message.json"))
    headers = {
        **secret_header(SECRET),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    response = client.post(URL, content=body, headers=headers)

    assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert (stored.channel, stored.status) == ("chat", "new") and stored.owner_id
    contact = contact_of(runtime, stored)
    assert contact.email == "amara.okafor@juniper-legal.example"
    assert contact.phone_e164 == "+16465550142"


def test_retry_answers_200_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("olark_offline_message.json")
    client.post(URL, content=body, headers=secret_header(SECRET))
    before = store_counts(runtime)
    again = client.post(URL, content=body, headers=secret_header(SECRET))
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert store_counts(runtime) == before


def test_missing_or_wrong_secret_is_401_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("olark_offline_message.json")
    wrong = client.post(URL, content=body, headers=secret_header(SECRET, "nope"))
    missing = client.post(URL, content=body)
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert APP_SECRETS[SECRET] not in missing.text
    assert inbounds(runtime) == []


def test_malformed_body_is_400_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    response = client.post(URL, content=b"{not json", headers=secret_header(SECRET))
    assert response.status_code == 400
    assert "Olark body is not valid JSON" in response.json()["error"]["message"]
    assert inbounds(runtime) == []
