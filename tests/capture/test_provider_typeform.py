"""Typeform: the signed form_response webhook and the Responses API page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from firsttouch.capture.providers.typeform import (
    parse_typeform,
    parse_typeform_responses,
)
from firsttouch.capture.typeform_import import import_responses
from firsttouch.cli import app
from firsttouch.config import Settings
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from firsttouch.store import migrate
from firsttouch.store.db import Database
from tests.capture.app_hooks_support import (
    contact_of,
    store_counts,
    typeform_headers,
    with_app_secrets,
)
from tests.capture.provider_support import fixture_bytes, fixture_json, inbounds

URL = "/capture/typeform"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def test_every_answer_type_is_kept_and_the_person_comes_from_typed_answers() -> None:
    event = parse_typeform(fixture_bytes("typeform_form_response.json"))
    assert (event.channel, event.kind, event.source) == ("web_form", "form", "typeform")
    assert event.creates_lead
    # The phone question's ref is a generated id: its answer type tells.
    assert event.person.phone == "+14155550187"
    assert event.person.email == "ines.kowalczyk@harbourfreight-logistics.example"
    assert (event.person.first_name, event.person.last_name) == ("Ines", "Kowalczyk")
    assert event.person.company == "Harbour Freight Logistics"
    assert event.person.website == "https://harbourfreight-logistics.example"
    assert event.body_text == "We key 2,000 supplier invoices a month by hand."
    answers = event.fields["answers"]
    assert answers["team_size"] == "6-20 people"
    assert answers["erp"] == ["NetSuite", "Sage Intacct", "Xero"]
    assert answers["wants_demo"] is True and answers["urgency"] == 9
    assert answers["go_live"] == "2026-06-01"
    assert answers["invoice_sample"].endswith("sample-invoice.pdf")
    assert answers["deposit"]["last4"] == "4242"


def test_hidden_fields_variables_and_tracking_are_kept() -> None:
    event = parse_typeform(fixture_bytes("typeform_form_response.json"))
    assert event.fields["hidden"]["visitor_ref"] == "v-5521"
    assert event.fields["variables"] == {"fit_score": 7, "segment": "mid-market"}
    assert event.fields["calculated"] == {"score": 7}
    assert event.utm == {"utm_source": "linkedin", "utm_campaign": "ap-automation-q1"}
    assert event.campaign == "ap-automation-q1"
    assert event.fields["form_title"] == "Talk to our finance automation team"
    assert event.provider_event_id == "01HQTF7Z3K9WEBHOOKEVT01"


def test_webhook_and_api_page_give_one_key_per_response() -> None:
    webhook = parse_typeform(fixture_bytes("typeform_form_response.json"))
    assert webhook.dedupe_key == "typeform:response:f3c9a1d27b6e4c0a9d81e5b2c7a4f610"

    page = fixture_json("typeform_responses_page.json")
    page["items"][0]["token"] = "f3c9a1d27b6e4c0a9d81e5b2c7a4f610"
    polled = parse_typeform_responses(json.dumps(page).encode())
    assert polled[0].dedupe_key == webhook.dedupe_key


def test_api_page_items_become_events_and_one_without_contact_is_recorded() -> None:
    first, second = parse_typeform_responses(
        fixture_bytes("typeform_responses_page.json")
    )
    assert first.creates_lead and first.person.email == "tomasz@pinecone-supply.example"
    assert first.utm == {"utm_source": "newsletter"}
    assert not second.creates_lead
    assert "no email or phone" in second.fields["not_a_lead"]
    assert json.loads(second.raw or "{}")["token"] == "9d2e71c0b4a5f6e3d8c7b1a0e9f2d4c5"


def test_other_event_types_and_missing_ids_are_refused_with_the_reason() -> None:
    payload = fixture_json("typeform_form_response.json")
    payload["event_type"] = "form_partial_response"
    with pytest.raises(InputError, match="only form_response"):
        parse_typeform(json.dumps(payload).encode())
    payload = fixture_json("typeform_form_response.json")
    del payload["event_id"]
    with pytest.raises(InputError, match="event_id"):
        parse_typeform(json.dumps(payload).encode())


def test_signed_response_becomes_a_lead_with_contact_and_owner(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("typeform_form_response.json")
    response = client.post(URL, content=body, headers=typeform_headers(body))

    assert response.status_code == 200 and response.json()["not_leads"] == []
    [stored] = inbounds(runtime)
    assert (stored.channel, stored.source, stored.status) == (
        "web_form",
        "typeform",
        "new",
    )
    assert stored.owner_id
    contact = contact_of(runtime, stored)
    assert contact.email == "ines.kowalczyk@harbourfreight-logistics.example"
    assert contact.phone_e164 == "+14155550187"


def test_retry_answers_200_again_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("typeform_form_response.json")
    first = client.post(URL, content=body, headers=typeform_headers(body))
    before = store_counts(runtime)
    again = client.post(URL, content=body, headers=typeform_headers(body))

    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert again.json()["inbound_ids"] == first.json()["inbound_ids"]
    assert store_counts(runtime) == before


def test_bad_or_missing_signature_is_401_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("typeform_form_response.json")
    wrong = client.post(URL, content=body, headers=typeform_headers(body, "other"))
    tampered = client.post(
        URL, content=body.replace(b"Ines", b"Inez"), headers=typeform_headers(body)
    )
    unsigned = client.post(URL, content=body)

    assert [r.status_code for r in (wrong, tampered, unsigned)] == [401, 401, 401]
    assert "Typeform-Signature" in unsigned.json()["error"]["message"]
    assert inbounds(runtime) == []


def test_malformed_body_is_400_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    body = b'{"event_id": "x", "form_response": '
    response = client.post(URL, content=body, headers=typeform_headers(body))
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]
    assert inbounds(runtime) == []


def test_response_without_contact_is_recorded_200_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("typeform_form_response.json")
    payload["form_response"]["answers"] = payload["form_response"]["answers"][6:9]
    body = json.dumps(payload).encode()
    response = client.post(URL, content=body, headers=typeform_headers(body))

    assert response.status_code == 200
    [note] = response.json()["not_leads"]
    assert "no email or phone" in note["reason"]
    [stored] = inbounds(runtime)
    assert stored.status == "recorded" and stored.contact_id is None


def test_an_imported_page_stores_new_responses_and_skips_the_webhooks(
    client: TestClient, runtime: Runtime
) -> None:
    page = fixture_json("typeform_responses_page.json")
    page["items"][0]["token"] = "f3c9a1d27b6e4c0a9d81e5b2c7a4f610"
    body = fixture_bytes("typeform_form_response.json")
    client.post(URL, content=body, headers=typeform_headers(body))

    result = import_responses(runtime, json.dumps(page).encode())
    again = import_responses(runtime, json.dumps(page).encode())

    assert (result.leads, result.recorded, result.duplicates) == (0, 1, 1)
    assert (again.leads, again.recorded, again.duplicates) == (0, 0, 2)
    assert len(inbounds(runtime)) == 2


def test_a_page_with_a_bad_item_imports_nothing(runtime: Runtime) -> None:
    page = fixture_json("typeform_responses_page.json")
    del page["items"][1]["token"]
    del page["items"][1]["landing_id"]
    with pytest.raises(InputError, match="token"):
        import_responses(runtime, json.dumps(page).encode())
    assert inbounds(runtime) == []


def test_cli_imports_a_saved_page(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("FIRSTTOUCH_DATABASE_URL", url)
    # The CLI points logging at the runner's captured stderr, which closes.
    monkeypatch.setattr("firsttouch.cli.configure_logging", lambda *a, **k: None)
    page = tmp_path / "page.json"
    page.write_bytes(fixture_bytes("typeform_responses_page.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"items": [')

    done = CliRunner().invoke(app, ["import-typeform", str(page)])
    failed = CliRunner().invoke(app, ["import-typeform", str(broken)])

    assert done.exit_code == 0, done.output
    assert "imported 1 leads" in done.output and "recorded 1" in done.output
    assert failed.exit_code == 1 and "nothing was imported" in failed.output
