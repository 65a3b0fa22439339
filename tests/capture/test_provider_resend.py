"""Resend inbound: Svix-signed ``email.received`` events, bodies read from a
loopback Receiving API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.resend import parse_resend
from firsttouch.capture.providers.svix import verify_svix_signature
from firsttouch.config import Settings
from firsttouch.errors import SignatureError
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.mail_api_server import MailApiFake, mail_api_server
from tests.capture.mail_webhook_support import (
    MAIL_SECRETS,
    RESEND_KEY,
    the_email_lead,
)
from tests.capture.provider_support import (
    fixture_bytes,
    fixture_json,
    inbounds,
    with_provider_secrets,
)
from tests.conftest import T0

URL = "/capture/email/resend"
EMAIL_ID = "0c9a6d7e-51f2-4b7e-8a31-4f0b2e6c9d18"
API_PATH = f"/emails/receiving/{EMAIL_ID}"
API_KEY = "re_test_key_for_loopback"


@pytest.fixture
def resend_api() -> Iterator[MailApiFake]:
    with mail_api_server() as fake:
        fake.answer(API_PATH, fixture_bytes("resend_received_email.json"))
        yield fake


@pytest.fixture
def settings(settings: Settings, resend_api: MailApiFake) -> Settings:
    return with_provider_secrets(
        settings,
        **MAIL_SECRETS,
        RESEND_API_KEY=API_KEY,
        RESEND_API_URL=resend_api.base_url,
    )


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def svix_headers(
    body: bytes, at: datetime = T0, key: bytes = RESEND_KEY, msg_id: str = "msg_2x1"
) -> dict[str, str]:
    stamp = str(int(at.timestamp()))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256)
    return {
        "svix-id": msg_id,
        "svix-timestamp": stamp,
        "svix-signature": "v1," + base64.b64encode(mac.digest()).decode(),
        "Content-Type": "application/json",
    }


# -- the Svix check ------------------------------------------------------------


def test_svix_signature_passes_with_one_matching_entry_among_several() -> None:
    body = fixture_bytes("resend_email_received.json")
    headers = svix_headers(body)
    rotated = svix_headers(body, key=b"an older key of thirty-two bytes")
    headers["svix-signature"] = (
        f"{rotated['svix-signature']} v1a,ignored {headers['svix-signature']}"
    )
    assert verify_svix_signature(headers, body, RESEND_KEY, T0, "Resend") == "msg_2x1"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"at": T0 - timedelta(minutes=6)}, "more than 5 minutes"),
        ({"at": T0 + timedelta(minutes=6)}, "more than 5 minutes"),
        ({"key": b"x" * 32}, "does not match"),
        ({"msg_id": "msg_other"}, "does not match"),
    ],
)
def test_svix_signature_refuses_stale_or_foreign_deliveries(
    change: dict[str, object], reason: str
) -> None:
    body = fixture_bytes("resend_email_received.json")
    headers = svix_headers(body, **change)  # type: ignore[arg-type]
    if "msg_id" in change:
        headers["svix-id"] = "msg_2x1"  # signed for another id
    with pytest.raises(SignatureError, match=reason):
        verify_svix_signature(headers, body, RESEND_KEY, T0, "Resend")


def test_svix_signature_within_five_minutes_passes() -> None:
    body = fixture_bytes("resend_email_received.json")
    headers = svix_headers(body, at=T0 - timedelta(minutes=4, seconds=59))
    verify_svix_signature(headers, body, RESEND_KEY, T0, "Resend")


# -- parsing -------------------------------------------------------------------


def test_resend_event_alone_is_a_lead_from_its_metadata() -> None:
    event = parse_resend(fixture_bytes("resend_email_received.json"))
    assert event is not None
    assert (event.channel, event.provider) == ("email", "resend")
    assert event.person.email == "priya.raman@tidewater-labs.example"
    assert event.subject == "Question about NetSuite sync"
    assert event.fields["content_fetched"] is False
    assert event.fields["attachments"][0]["filename"] == "vendor-list.xlsx"


def test_resend_event_keys_the_same_with_or_without_its_content() -> None:
    body = fixture_bytes("resend_email_received.json")
    bare = parse_resend(body)
    full = parse_resend(body, fixture_json("resend_received_email.json"))
    assert bare is not None and full is not None
    assert full.dedupe_key == bare.dedupe_key
    assert full.dedupe_key.startswith("email:tw-5521.priya@tidewater-labs.example:")
    assert "multi-currency vendor bills" in (full.body_text or "")


# -- the web route -------------------------------------------------------------


def test_resend_post_reads_the_body_from_resend_and_stores_one_lead(
    client: TestClient, runtime: Runtime, resend_api: MailApiFake
) -> None:
    body = fixture_bytes("resend_email_received.json")
    responses = [
        client.post(URL, content=body, headers=svix_headers(body)) for _ in range(2)
    ]

    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].json()["duplicates"] == 1
    stored, contact = the_email_lead(runtime, "resend")
    assert contact.email == "priya.raman@tidewater-labs.example"
    assert "multi-currency vendor bills" in (stored.body_text or "")
    assert stored.fields["content_fetched"] is True
    asked = resend_api.requests[0]
    assert asked["headers"]["Authorization"] == f"Bearer {API_KEY}"


def test_resend_busy_api_answers_503_so_resend_delivers_again(
    client: TestClient, runtime: Runtime, resend_api: MailApiFake
) -> None:
    body = fixture_bytes("resend_email_received.json")
    resend_api.answer(API_PATH, b'{"message": "internal"}', status=500)
    busy = client.post(URL, content=body, headers=svix_headers(body))
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "60"
    assert inbounds(runtime) == []

    resend_api.answer(API_PATH, fixture_bytes("resend_received_email.json"))
    assert client.post(URL, content=body, headers=svix_headers(body)).status_code == 200
    stored, _contact = the_email_lead(runtime, "resend")
    assert stored.fields["content_fetched"] is True


def test_resend_refused_read_keeps_the_lead_from_the_event(
    client: TestClient, runtime: Runtime, resend_api: MailApiFake
) -> None:
    body = fixture_bytes("resend_email_received.json")
    resend_api.answer(API_PATH, b'{"message": "API key is invalid"}', status=401)
    assert client.post(URL, content=body, headers=svix_headers(body)).status_code == 200
    stored, contact = the_email_lead(runtime, "resend")
    assert contact.email == "priya.raman@tidewater-labs.example"
    assert stored.fields["content_fetched"] is False


@pytest.mark.parametrize("problem", ["tampered", "stale", "unsigned"])
def test_resend_bad_signature_is_401_and_nothing_is_read_or_stored(
    client: TestClient, runtime: Runtime, resend_api: MailApiFake, problem: str
) -> None:
    body = fixture_bytes("resend_email_received.json")
    headers = {
        "tampered": svix_headers(body.replace(b"Priya", b"Mallory")),
        "stale": svix_headers(body, at=T0 - timedelta(hours=1)),
        "unsigned": {"Content-Type": "application/json"},
    }[problem]
    assert client.post(URL, content=body, headers=headers).status_code == 401
    assert inbounds(runtime) == [] and resend_api.requests == []


def test_resend_other_events_are_acknowledged_not_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = json.dumps({"type": "email.delivered", "data": {"email_id": "x"}}).encode()
    response = client.post(URL, content=body, headers=svix_headers(body))
    assert response.status_code == 200 and response.json()["ignored"]
    assert inbounds(runtime) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>", "not valid JSON"),
        (b'{"type": "email.received"}', "without a data object"),
        (b'{"type": "email.received", "data": {"to": ["a@b.example"]}}', "data.from"),
    ],
)
def test_resend_unreadable_event_is_400_with_the_reason(
    client: TestClient, runtime: Runtime, body: bytes, reason: str
) -> None:
    response = client.post(URL, content=body, headers=svix_headers(body))
    assert response.status_code == 400
    assert reason in response.json()["error"]["message"]
    assert inbounds(runtime) == []
