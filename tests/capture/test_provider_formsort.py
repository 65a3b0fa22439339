"""Formsort: finalized submissions are leads, partial ones are recorded."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.formsort import parse_formsort
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

URL = "/capture/formsort"
SECRET = "FORMSORT_WEBHOOK_SECRET"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def partial() -> bytes:
    payload = fixture_json("formsort_finalized.json")
    payload["finalized"] = False
    return json.dumps(payload).encode()


def test_finalized_submission_is_a_web_form_lead() -> None:
    event = parse_formsort(fixture_bytes("formsort_finalized.json"))
    assert (event.channel, event.kind, event.source) == ("web_form", "form", "formsort")
    assert event.creates_lead
    # "contact_email_address" is no standard name; it names an email all the same.
    assert event.person.email == "priya.n@meridian-accounting.example"
    assert event.person.company == "Meridian Accounting"
    assert event.fields["answers"]["invoices_per_month"] == 1200
    assert event.campaign == "spring-webinar"
    assert event.dedupe_key.endswith(":final")


def test_partial_submission_is_recorded_with_the_reason_and_its_own_key() -> None:
    event = parse_formsort(partial())
    assert not event.creates_lead
    assert event.fields["not_a_lead"].startswith("the responder has not finished")
    assert ":partial:" in event.dedupe_key
    final = parse_formsort(fixture_bytes("formsort_finalized.json"))
    assert final.dedupe_key != event.dedupe_key


def test_submission_without_responder_or_flag_is_refused() -> None:
    payload = fixture_json("formsort_finalized.json")
    del payload["finalized"]
    with pytest.raises(InputError, match="finalized"):
        parse_formsort(json.dumps(payload).encode())
    payload["finalized"] = True
    del payload["responder_uuid"]
    with pytest.raises(InputError, match="responder_uuid"):
        parse_formsort(json.dumps(payload).encode())


def test_finalized_submission_becomes_a_lead_with_contact_and_owner(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("formsort_finalized.json")
    response = client.post(URL, content=body, headers=secret_header(SECRET))

    assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert (stored.channel, stored.status) == ("web_form", "new") and stored.owner_id
    assert contact_of(runtime, stored).email == "priya.n@meridian-accounting.example"


def test_partial_then_final_makes_one_lead_and_the_partial_is_only_recorded(
    client: TestClient, runtime: Runtime
) -> None:
    first = client.post(URL, content=partial(), headers=secret_header(SECRET))
    body = fixture_bytes("formsort_finalized.json")
    client.post(URL, content=body, headers=secret_header(SECRET))

    assert first.status_code == 200
    assert "not finished" in first.json()["not_leads"][0]["reason"]
    recorded, lead = inbounds(runtime)
    assert recorded.status == "recorded" and lead.status == "new"


def test_retry_answers_200_again_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("formsort_finalized.json")
    client.post(URL, content=body, headers=secret_header(SECRET))
    before = store_counts(runtime)
    again = client.post(URL, content=body, headers=secret_header(SECRET))
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert store_counts(runtime) == before


def test_secret_in_basic_auth_is_accepted_and_a_wrong_one_is_401(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("formsort_finalized.json")
    good = base64.b64encode(f"formsort:{APP_SECRETS[SECRET]}".encode()).decode()
    bad = base64.b64encode(b"formsort:guess").decode()
    refused = client.post(URL, content=body, headers={"Authorization": f"Basic {bad}"})
    wrong = client.post(URL, content=body, headers=secret_header(SECRET, "guess"))
    missing = client.post(URL, content=body)
    assert [r.status_code for r in (refused, wrong, missing)] == [401, 401, 401]
    assert "FORMSORT_WEBHOOK_SECRET" in missing.json()["error"]["message"]
    assert inbounds(runtime) == []

    accepted = client.post(
        URL, content=body, headers={"Authorization": f"Basic {good}"}
    )
    assert accepted.status_code == 200 and len(inbounds(runtime)) == 1


def test_malformed_body_is_400_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    response = client.post(URL, content=b"[1, 2", headers=secret_header(SECRET))
    assert response.status_code == 400
    assert "Formsort body is not valid JSON" in response.json()["error"]["message"]
    assert inbounds(runtime) == []
