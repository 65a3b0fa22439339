"""HubSpot: signed batches, new contacts as leads, the optional contact read."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.hubspot import parse_hubspot, signed_uri
from firsttouch.config import Settings
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.web import create_app
from tests.capture.app_hooks_support import (
    contact_of,
    hubspot_headers,
    store_counts,
    with_app_secrets,
)
from tests.capture.hubspot_server import HubSpotFake, hubspot_server
from tests.capture.provider_support import fixture_bytes, fixture_json, inbounds
from tests.conftest import settle_accepted

URL = "/capture/hubspot"
TOKEN = "pat-na1-hubspot-token-for-tests"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


@pytest.fixture
def hubspot() -> Iterator[HubSpotFake]:
    with hubspot_server() as fake:
        fake.token = TOKEN
        yield fake


@pytest.fixture
def fetching(runtime: Runtime, hubspot: HubSpotFake) -> Iterator[TestClient]:
    """A web client whose runtime reads new contacts from the loopback API."""
    env = {
        **runtime.settings.env,
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "HUBSPOT_API_URL": hubspot.base_url,
    }
    runtime.settings = runtime.settings.with_overrides(env=env)
    with TestClient(create_app(runtime)) as client:
        yield client


def post(
    client: TestClient,
    runtime: Runtime,
    body: bytes,
    *,
    secret: str | None = None,
    age_seconds: float = 0,
) -> httpx.Response:
    now = runtime.clock.now()
    headers = hubspot_headers(body, URL, now, secret=secret, age_seconds=age_seconds)
    return client.post(URL, content=body, headers=headers)


def test_a_batch_is_one_event_per_item_and_only_the_creation_is_a_lead() -> None:
    created, changed, deleted = parse_hubspot(fixture_bytes("hubspot_batch.json"))

    assert created.creates_lead and (created.channel, created.kind) == (
        "web_form",
        "form",
    )
    assert created.fields["hubspot_object_id"] == "90817263544"
    assert created.fields["needs_fetch"] is True
    assert (
        created.dedupe_key == "hubspot:24681357:4120087731:contact.creation:90817263544"
    )
    # The documentation's "eventType" is read like "subscriptionType".
    assert changed.fields["hubspot_event"] == "contact.propertyChange"
    assert not changed.creates_lead and "not a lead" in changed.fields["not_a_lead"]
    assert not deleted.creates_lead and deleted.kind == "status"


def test_change_source_decides_the_channel_of_a_new_contact() -> None:
    batch = fixture_json("hubspot_batch.json")[:1]
    for source, channel in (
        ("IMPORT", "import"),
        ("CRM_UI", "api"),
        ("FORM", "web_form"),
    ):
        batch[0]["changeSource"] = source
        [event] = parse_hubspot(json.dumps(batch).encode())
        assert event.channel == channel


def test_items_without_ids_and_bodies_that_are_not_events_are_refused() -> None:
    batch = fixture_json("hubspot_batch.json")
    del batch[2]["objectId"]
    with pytest.raises(InputError, match="event 2 needs eventId, objectId"):
        parse_hubspot(json.dumps(batch).encode())
    with pytest.raises(InputError, match="non-empty JSON array"):
        parse_hubspot(b"[]")
    with pytest.raises(InputError, match="not valid JSON"):
        parse_hubspot(b"[{")


def test_the_signed_uri_decodes_what_hubspot_decodes() -> None:
    assert signed_uri("https://h.example/p%3Fa%2Cb%40c") == "https://h.example/p?a,b@c"


def test_without_a_token_a_new_contact_is_recorded_with_what_to_set(
    client: TestClient, runtime: Runtime
) -> None:
    response = post(client, runtime, fixture_bytes("hubspot_batch.json"))

    assert response.status_code == 200
    created, changed, deleted = inbounds(runtime)
    reasons = {r["inbound_id"]: r["reason"] for r in response.json()["not_leads"]}
    assert set(reasons) == {created.id, changed.id, deleted.id}
    assert "set HUBSPOT_ACCESS_TOKEN" in reasons[created.id]
    assert created.status == changed.status == deleted.status == "recorded"
    assert created.contact_id is None and created.sla_state == "not_applicable"
    assert created.fields["hubspot_object_id"] == "90817263544"
    assert store_counts(runtime)[1] == 0


def test_retry_of_the_batch_answers_200_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("hubspot_batch.json")
    post(client, runtime, body)
    before = store_counts(runtime)
    batch = json.loads(body)
    for item in batch:
        item["attemptNumber"] = 1  # HubSpot counts its attempts
    again = post(client, runtime, json.dumps(batch).encode())
    assert again.status_code == 200 and again.json()["duplicates"] == 3
    assert store_counts(runtime) == before


def test_bad_signature_or_an_old_timestamp_is_401_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("hubspot_batch.json")
    wrong = post(client, runtime, body, secret="not-the-secret")
    stale = post(client, runtime, body, age_seconds=301)
    headers = hubspot_headers(body, URL, runtime.clock.now())
    other_path = client.post(URL + "?x=1", content=body, headers=headers)
    unsigned = client.post(URL, content=body)

    assert [r.status_code for r in (wrong, stale, other_path, unsigned)] == [401] * 4
    assert "replay" in stale.json()["error"]["message"]
    assert inbounds(runtime) == []


def test_signature_within_five_minutes_is_accepted(
    client: TestClient, runtime: Runtime
) -> None:
    response = post(
        client, runtime, fixture_bytes("hubspot_batch.json"), age_seconds=290
    )
    assert response.status_code == 200


def test_malformed_batch_is_400_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    response = post(client, runtime, b'[{"eventId": 1,')
    assert response.status_code == 400
    assert "HubSpot body is not valid JSON" in response.json()["error"]["message"]
    assert inbounds(runtime) == []


def test_with_a_token_the_new_contact_is_read_from_the_crm_api(
    fetching: TestClient, runtime: Runtime, hubspot: HubSpotFake
) -> None:
    hubspot.contacts["90817263544"] = {
        "email": "wen.moreau@pinecone-supply.example",
        "firstname": "Wen",
        "lastname": "Moreau",
        "company": "Pinecone Supply",
        "jobtitle": "Controller",
        "message": "Looking at AP tools this quarter",
        "utm_campaign": "g2-compare",
    }
    response = post(fetching, runtime, fixture_bytes("hubspot_batch.json"))
    settle_accepted(runtime)

    assert response.status_code == 200
    # One batch read for the batch's new contacts, nothing for the others.
    [request] = hubspot.requests
    assert request["path"] == "/crm/v3/objects/contacts/batch/read"
    assert request["json"]["inputs"] == [{"id": "90817263544"}]
    assert "email" in request["json"]["properties"]
    lead = inbounds(runtime)[0]
    assert lead.body_text == "Looking at AP tools this quarter"
    assert lead.campaign == "g2-compare" and lead.owner_id
    contact = contact_of(runtime, lead)
    assert contact.email == "wen.moreau@pinecone-supply.example"
    assert (contact.first_name, contact.title) == ("Wen", "Controller")


def test_a_busy_crm_api_answers_503_so_hubspot_retries(
    fetching: TestClient, runtime: Runtime, hubspot: HubSpotFake
) -> None:
    hubspot.status = 429
    response = post(fetching, runtime, fixture_bytes("hubspot_batch.json"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert inbounds(runtime) == []


def test_a_contact_the_api_does_not_have_is_recorded_with_its_id_and_why(
    fetching: TestClient, runtime: Runtime, hubspot: HubSpotFake
) -> None:
    hubspot.contacts["555"] = {"email": "someone.else@example.com"}
    response = post(fetching, runtime, fixture_bytes("hubspot_batch.json"))
    settle_accepted(runtime)

    assert response.status_code == 200
    created = inbounds(runtime)[0]
    assert created.status == "recorded"
    assert created.fields["hubspot_object_id"] == "90817263544"
    assert "has no contact 90817263544" in created.fields["not_a_lead"]


def test_a_refused_token_keeps_the_new_contact_with_its_id(
    fetching: TestClient, runtime: Runtime, hubspot: HubSpotFake
) -> None:
    hubspot.token = "another-token"
    response = post(fetching, runtime, fixture_bytes("hubspot_batch.json"))
    settle_accepted(runtime)

    assert response.status_code == 200
    assert [i.status for i in inbounds(runtime)] == ["recorded"] * 3
    created = inbounds(runtime)[0]
    assert "did not give contact 90817263544" in created.fields["not_a_lead"]
