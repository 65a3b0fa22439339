"""LinkedIn Lead Sync: endpoint validation, signed notifications, DELETED."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.linkedin import parse_linkedin
from firsttouch.config import Settings
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from tests.capture.provider_support import (
    SECRETS,
    fixture_bytes,
    inbounds,
    with_provider_secrets,
)

SECRET = SECRETS["LINKEDIN_CLIENT_SECRET"]
URN = "urn:li:leadGenFormResponse:7f3e-22aa-91"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings)


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-LI-Signature": digest, "Content-Type": "application/json"}


def test_created_response_is_a_lead_ad_keyed_on_the_response_urn() -> None:
    event = parse_linkedin(fixture_bytes("linkedin_lead_created.json"))
    assert (event.channel, event.kind, event.source) == (
        "lead_ad",
        "lead_ad",
        "linkedin_lead_gen",
    )
    assert event.dedupe_key == f"linkedin:{URN}:created"
    assert event.occurred_at is not None and event.occurred_at.year == 2026
    assert event.fields["owner_urn"] == "urn:li:sponsoredAccount:808"
    assert event.creates_lead


def test_deleted_response_never_creates_a_lead() -> None:
    event = parse_linkedin(fixture_bytes("linkedin_lead_deleted.json"))
    assert event.kind == "status" and not event.creates_lead


def test_unknown_action_is_refused() -> None:
    body = fixture_bytes("linkedin_lead_created.json").replace(b"CREATED", b"EDITED")
    with pytest.raises(InputError, match="leadAction"):
        parse_linkedin(body)


def test_validation_answers_the_hmac_of_the_challenge_code(client: TestClient) -> None:
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed4"
    response = client.get("/capture/linkedin", params={"challengeCode": code})
    assert response.status_code == 200
    assert response.json() == {
        "challengeCode": code,
        "challengeResponse": hmac.new(
            SECRET.encode(), code.encode(), hashlib.sha256
        ).hexdigest(),
    }


def test_created_then_deleted_stores_one_lead_and_one_fact(
    client: TestClient, runtime: Runtime
) -> None:
    for name in (
        "linkedin_lead_created.json",
        "linkedin_lead_deleted.json",
        "linkedin_lead_deleted.json",
    ):
        body = fixture_bytes(name)
        assert (
            client.post(
                "/capture/linkedin", content=body, headers=sign(body)
            ).status_code
            == 200
        )
    created, deleted = inbounds(runtime)
    assert created.kind == "lead_ad" and created.owner_id
    assert deleted.kind == "status" and deleted.contact_id is None


def test_deleted_alone_creates_no_lead(client: TestClient, runtime: Runtime) -> None:
    body = fixture_bytes("linkedin_lead_deleted.json")
    response = client.post("/capture/linkedin", content=body, headers=sign(body))
    assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert stored.contact_id is None and stored.sla_state == "not_applicable"


def test_bad_signature_is_401_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("linkedin_lead_created.json")
    response = client.post(
        "/capture/linkedin", content=body, headers=sign(body, "wrong")
    )
    assert response.status_code == 401 and inbounds(runtime) == []
