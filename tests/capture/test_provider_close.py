"""Close CRM: change events are recorded with their reason, never leads."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.close_crm import parse_close
from firsttouch.config import Settings
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.app_hooks_support import (
    close_headers,
    store_counts,
    with_app_secrets,
)
from tests.capture.provider_support import fixture_bytes, fixture_json, inbounds

URL = "/capture/close"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def test_a_change_event_is_a_recorded_status_keyed_on_its_id() -> None:
    event = parse_close(fixture_bytes("close_opportunity_won.json"))
    assert not event.creates_lead and event.kind == "status"
    assert event.dedupe_key == "close:ev_2rVh8KqN1x"
    assert event.fields["close_event"] == "opportunity.updated"
    assert event.fields["close_lead_id"] == "lead_Hs90"
    assert "not a buyer reaching out" in event.fields["not_a_lead"]


def test_a_lead_created_in_close_is_not_a_lead_here_either() -> None:
    payload = fixture_json("close_opportunity_won.json")
    payload["event"].update(object_type="lead", action="created")
    event = parse_close(json.dumps(payload).encode())
    assert not event.creates_lead and event.fields["close_event"] == "lead.created"


def test_an_event_without_its_type_is_refused() -> None:
    payload = fixture_json("close_opportunity_won.json")
    del payload["event"]["action"]
    with pytest.raises(InputError, match="id, object_type and action"):
        parse_close(json.dumps(payload).encode())


def test_signed_event_is_acknowledged_and_recorded_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("close_opportunity_won.json")
    response = client.post(
        URL, content=body, headers=close_headers(body, runtime.clock.now())
    )

    assert response.status_code == 200
    [note] = response.json()["not_leads"]
    assert "opportunity updated" in note["reason"]
    [stored] = inbounds(runtime)
    assert stored.status == "recorded" and stored.contact_id is None
    assert stored.sla_state == "not_applicable"


def test_retry_answers_200_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("close_opportunity_won.json")
    headers = close_headers(body, runtime.clock.now())
    client.post(URL, content=body, headers=headers)
    before = store_counts(runtime)
    again = client.post(URL, content=body, headers=headers)
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert store_counts(runtime) == before


def test_bad_or_stale_signature_is_401_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("close_opportunity_won.json")
    now = runtime.clock.now()
    wrong = client.post(
        URL, content=body, headers=close_headers(body, now, key_hex="00ff")
    )
    stale = client.post(
        URL, content=body, headers=close_headers(body, now, age_seconds=600)
    )
    unsigned = client.post(URL, content=body)
    assert [r.status_code for r in (wrong, stale, unsigned)] == [401, 401, 401]
    assert "close-sig-hash" in unsigned.json()["error"]["message"]
    assert inbounds(runtime) == []


def test_malformed_body_is_400_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    body = b'{"event": {"id": "ev_1"'
    response = client.post(
        URL, content=body, headers=close_headers(body, runtime.clock.now())
    )
    assert response.status_code == 400
    assert "Close body is not valid JSON" in response.json()["error"]["message"]
    assert inbounds(runtime) == []
