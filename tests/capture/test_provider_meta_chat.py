"""Messenger and WhatsApp Cloud messages: chat leads, statuses recorded."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.meta_chat import parse_meta_chat
from firsttouch.config import Settings
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.app_hooks_support import (
    contact_of,
    meta_headers,
    store_counts,
    with_app_secrets,
)
from tests.capture.provider_support import (
    SECRETS,
    fixture_bytes,
    fixture_json,
    inbounds,
)

URL = "/capture/chat/meta"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def test_messenger_ad_referral_message_is_a_chat_lead_with_the_ad_kept() -> None:
    message, echo, read = parse_meta_chat(fixture_bytes("messenger_ad_referral.json"))

    assert (message.channel, message.kind, message.source) == (
        "chat",
        "chat",
        "messenger",
    )
    assert message.dedupe_key == "messenger:m_Hq9vZ2bXc7NwK1pL0sT5rE8yU3iO6aD4fG"
    assert message.body_text == "Hi, does this work with QuickBooks?"
    assert message.fields["ad_id"] == "23851204987650012"
    assert message.fields["ref"] == "spring-ap-offer"
    assert message.fields["ads_context"]["ad_title"] == "Close your books faster"
    assert message.campaign == "23851204987650012"
    assert not echo.creates_lead and "echo" in echo.fields["not_a_lead"]
    assert not read.creates_lead and read.fields["event"] == "read"


def test_a_referral_without_a_message_is_a_lead_keyed_on_sender_and_time() -> None:
    payload = fixture_json("messenger_ad_referral.json")
    item = payload["entry"][0]["messaging"][0]
    referral = item["message"].pop("referral")
    payload["entry"][0]["messaging"] = [
        {k: item[k] for k in ("sender", "recipient", "timestamp")}
        | {"referral": referral}
    ]
    [event] = parse_meta_chat(json.dumps(payload).encode())
    assert event.creates_lead and event.fields["event"] == "referral"
    assert event.fields["ad_id"] == "23851204987650012"
    assert (
        event.dedupe_key
        == "messenger:referral:104829375610022:6650912347781201:1773141000100"
    )


def test_whatsapp_text_from_an_ad_and_a_failed_status() -> None:
    message, status = parse_meta_chat(fixture_bytes("whatsapp_messages.json"))

    assert (message.source, message.kind) == (
        "whatsapp",
        "chat",
    ) and message.creates_lead
    assert message.dedupe_key.startswith("whatsapp:wamid.HBgLMTQxNTU1NTAxOTk")
    assert message.person.phone == "+14155550199"
    assert message.person.full_name == "Diego Fernández"
    assert message.fields["ad_id"] == "23851204987650077"
    assert message.fields["referral"]["ctwa_clid"] == "ARAkLmNoPqRsTuVw"
    assert not status.creates_lead and status.kind == "status"
    assert status.fields["errors"] == [
        {"code": 131047, "title": "Re-engagement message"}
    ]
    assert "error 131047" in status.fields["not_a_lead"]


def test_whatsapp_button_reply_reads_the_button_title() -> None:
    payload = fixture_json("whatsapp_messages.json")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(
        type="interactive",
        interactive={
            "type": "button_reply",
            "button_reply": {"id": "b-demo", "title": "Book a demo"},
        },
    )
    del message["text"]
    event = parse_meta_chat(json.dumps(payload).encode())[0]
    assert event.body_text == "Book a demo" and event.fields["reply_id"] == "b-demo"


def test_unknown_objects_and_missing_entries_are_refused() -> None:
    with pytest.raises(InputError, match="object 'user'"):
        parse_meta_chat(b'{"object": "user", "entry": [{"id": "1"}]}')
    with pytest.raises(InputError, match="entry list"):
        parse_meta_chat(b'{"object": "page"}')


def test_signed_messenger_post_stores_the_lead_and_records_the_rest(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("messenger_ad_referral.json")
    response = client.post(URL, content=body, headers=meta_headers(body))

    assert response.status_code == 200 and len(response.json()["not_leads"]) == 2
    # One request's events are stored in key order, not in the order sent.
    stored = inbounds(runtime)
    (lead,) = [i for i in stored if i.status != "recorded"]
    assert (lead.channel, lead.status) == ("chat", "new")
    assert lead.contact_id and lead.owner_id
    assert lead.fields["ad_id"] == "23851204987650012"
    assert sorted(i.status for i in stored) == ["new", "recorded", "recorded"]


def test_a_second_message_in_the_thread_attaches_to_the_first(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("messenger_ad_referral.json")
    client.post(URL, content=body, headers=meta_headers(body))
    payload = fixture_json("messenger_ad_referral.json")
    follow_up = payload["entry"][0]["messaging"][0]
    follow_up["message"] = {"mid": "m_SecondMessage02", "text": "And Xero?"}
    payload["entry"][0]["messaging"] = [follow_up]
    second = json.dumps(payload).encode()
    client.post(URL, content=second, headers=meta_headers(second))

    by_status = {i.status: i for i in inbounds(runtime)}
    first, reply = by_status["new"], by_status["reply"]
    assert reply.parent_id == first.id
    assert reply.contact_id == first.contact_id


def test_whatsapp_message_lead_has_the_sender_number_as_contact(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("whatsapp_messages.json")
    response = client.post(URL, content=body, headers=meta_headers(body))

    assert response.status_code == 200
    by_status = {i.status: i for i in inbounds(runtime)}
    lead, status = by_status["new"], by_status["recorded"]
    assert lead.owner_id and contact_of(runtime, lead).phone_e164 == "+14155550199"
    assert status.fields["status"] == "failed"


def test_retry_answers_200_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("whatsapp_messages.json")
    client.post(URL, content=body, headers=meta_headers(body))
    before = store_counts(runtime)
    again = client.post(URL, content=body, headers=meta_headers(body))
    assert again.status_code == 200 and again.json()["duplicates"] == 2
    assert store_counts(runtime) == before


def test_bad_signature_is_401_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("whatsapp_messages.json")
    wrong = client.post(URL, content=body, headers=meta_headers(body, "other-secret"))
    unsigned = client.post(URL, content=body)
    assert (wrong.status_code, unsigned.status_code) == (401, 401)
    assert inbounds(runtime) == []


def test_malformed_body_is_400_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    body = b'{"object": "page", "entry": ['
    response = client.post(URL, content=body, headers=meta_headers(body))
    assert response.status_code == 400
    assert "Meta chat body is not valid JSON" in response.json()["error"]["message"]


def test_the_subscription_handshake_echoes_the_challenge(client: TestClient) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": SECRETS["META_VERIFY_TOKEN"],
        "hub.challenge": "1158201444",
    }
    assert client.get(URL, params=query).text == "1158201444"
    query["hub.verify_token"] = "wrong"
    assert client.get(URL, params=query).status_code == 403


def test_instagram_messages_read_like_messenger_and_a_postback_is_a_lead() -> None:
    payload = fixture_json("messenger_ad_referral.json")
    payload["object"] = "instagram"
    item = payload["entry"][0]["messaging"][0]
    postback = {
        "sender": item["sender"],
        "recipient": item["recipient"],
        "timestamp": 1773141009000,
        "postback": {
            "mid": "m_Postback77",
            "title": "Get pricing",
            "payload": "PRICING",
        },
    }
    payload["entry"][0]["messaging"] = [item, postback]
    message, button = parse_meta_chat(json.dumps(payload).encode())
    assert message.source == "instagram" and message.dedupe_key.startswith("instagram:")
    assert button.creates_lead and button.body_text == "Get pricing"
    assert (button.fields["event"], button.fields["payload"]) == ("postback", "PRICING")
    # Both belong to one thread, named by the page and the sender.
    assert message.message_id == button.in_reply_to
