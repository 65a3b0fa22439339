"""Calendly and Cal.com booking webhooks: signed, parsed, one meeting each."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.calcom import parse_calcom
from firsttouch.capture.providers.calendly import parse_calendly
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from tests.capture.provider_support import (
    SECRETS,
    fixture_bytes,
    fixture_json,
    inbounds,
    with_provider_secrets,
)

INVITEE = "https://api.calendly.com/scheduled_events/EVT00ABC/invitees/INV00QRS"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings)


def calendly_headers(
    body: bytes, stamp: int, key: str = SECRETS["CALENDLY_WEBHOOK_SIGNING_KEY"]
) -> dict[str, str]:
    digest = hmac.new(
        key.encode(), f"{stamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return {
        "Calendly-Webhook-Signature": f"t={stamp},v1={digest}",
        "Content-Type": "application/json",
    }


def calcom_headers(
    body: bytes, secret: str = SECRETS["CALCOM_WEBHOOK_SECRET"]
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Cal-Signature-256": digest, "Content-Type": "application/json"}


def test_calendly_invitee_created_is_a_meeting_keyed_on_the_invitee_uri() -> None:
    event = parse_calendly(fixture_bytes("calendly_invitee_created.json"))
    assert (event.channel, event.kind, event.source) == (
        "meeting",
        "meeting",
        "calendly",
    )
    assert event.dedupe_key == f"calendly:invitee.created:{INVITEE}"
    assert event.person.email == "grace.okafor@tidewater-health.example"
    assert event.person.timezone == "America/New_York"
    assert event.utm == {
        "utm_campaign": "ap-webinar",
        "utm_source": "linkedin",
        "utm_medium": "paid",
    }
    assert event.fields["start_time"].startswith("2026-03-12T15:00")


def test_calendly_cancellation_is_recorded_but_not_a_lead() -> None:
    payload = fixture_json("calendly_invitee_created.json")
    payload["event"] = "invitee.canceled"
    event = parse_calendly(json.dumps(payload).encode())
    assert event.kind == "status" and not event.creates_lead
    assert (
        event.dedupe_key
        != parse_calendly(fixture_bytes("calendly_invitee_created.json")).dedupe_key
    )


def test_calcom_booking_created_is_a_meeting_keyed_on_the_uid() -> None:
    event = parse_calcom(fixture_bytes("calcom_booking_created.json"))
    assert (event.channel, event.kind, event.source) == ("meeting", "meeting", "calcom")
    assert event.dedupe_key == "calcom:booking_created:bk_4TfQ9mXc2LwR"
    assert event.person.email == "kenji@sakura-retail.example"
    assert event.person.phone == "+81312345678"
    assert event.person.timezone == "Asia/Tokyo"


def test_calcom_rejection_is_not_a_lead() -> None:
    payload = fixture_json("calcom_booking_created.json")
    payload["triggerEvent"] = "BOOKING_REJECTED"
    assert not parse_calcom(json.dumps(payload).encode()).creates_lead


def test_signed_calendly_booking_is_stored_once(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("calendly_invitee_created.json")
    stamp = int(runtime.clock.now().timestamp())
    for _ in range(2):
        response = client.post(
            "/capture/calendly", content=body, headers=calendly_headers(body, stamp)
        )
        assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert stored.kind == "meeting" and stored.contact_id and stored.owner_id


@pytest.mark.parametrize("problem", ["key", "stale", "format"])
def test_calendly_bad_or_replayed_signature_is_401(
    client: TestClient, runtime: Runtime, problem: str
) -> None:
    body = fixture_bytes("calendly_invitee_created.json")
    stamp = int(runtime.clock.now().timestamp())
    headers = {
        "key": calendly_headers(body, stamp, key="wrong"),
        "stale": calendly_headers(body, stamp - 3600),
        "format": {"Calendly-Webhook-Signature": "v1=abc"},
    }[problem]
    response = client.post("/capture/calendly", content=body, headers=headers)
    assert response.status_code == 401 and inbounds(runtime) == []


def test_signed_calcom_booking_is_stored(client: TestClient, runtime: Runtime) -> None:
    body = fixture_bytes("calcom_booking_created.json")
    response = client.post(
        "/capture/calcom", content=body, headers=calcom_headers(body)
    )
    assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert stored.channel == "meeting" and stored.owner_id


def test_calcom_bad_signature_is_401(client: TestClient, runtime: Runtime) -> None:
    body = fixture_bytes("calcom_booking_created.json")
    response = client.post(
        "/capture/calcom", content=body, headers=calcom_headers(body, "wrong")
    )
    assert response.status_code == 401 and inbounds(runtime) == []
