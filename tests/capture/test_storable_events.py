"""Whatever capture accepts is storable on both engines and reaches a lead.

A body the webhook answers 2xx must not fail later in ``capture.ingest``
(a lone surrogate escape on SQLite) or be refused by the store (NaN in
JSONB, a 500 that makes the sender retry forever). And an address no one
can be reached at never becomes a contact's: it is kept in the event's
fields as typed.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.config import Settings
from firsttouch.jobs.runner import run_until_idle
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Job
from firsttouch.worker import build_worker
from tests.capture.app_hooks_support import (
    contact_of,
    secret_header,
    typeform_headers,
    with_app_secrets,
)
from tests.capture.provider_support import fixture_json, inbounds


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def _dead_jobs(runtime: Runtime) -> list[tuple[str, str | None]]:
    with runtime.db.sessions() as session:
        jobs = list(session.scalars(select(Job)))
    return [(j.kind, j.last_error) for j in jobs if j.state == "dead"]


def _contacts(runtime: Runtime) -> list[Contact]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(Contact)))


def test_lone_surrogates_and_nan_are_stored_and_the_lead_appears(
    raw_client: TestClient, runtime: Runtime
) -> None:
    # Written by hand: json.dumps would not write a lone surrogate or NaN
    # the way a careless sender does.
    body = (
        b'{"id": "lead-surrogate-1", "email": "nadia@quayside-tools.example",'
        b' "name": "\\ud800x Okafor", "budget": NaN, "seats": Infinity,'
        b' "notes": {"\\udc80key": ["\\ud83d\\ude00", -Infinity]}}'
    )
    response = raw_client.post(
        "/capture/leads/generic",
        content=body,
        headers=secret_header("GENERIC_LEAD_SECRET"),
    )
    assert response.status_code == 200, response.text

    run_until_idle(build_worker(runtime))

    assert _dead_jobs(runtime) == []
    (inbound,) = inbounds(runtime)
    contact = contact_of(runtime, inbound)
    assert contact.email == "nadia@quayside-tools.example"
    assert contact.first_name == "\ufffdx"
    payload = inbound.fields["payload"]
    assert (payload["budget"], payload["seats"]) == ("NaN", "Infinity")
    assert payload["notes"] == {"\ufffdkey": ["\U0001f600", "-Infinity"]}


def test_a_typeform_answer_with_a_surrogate_and_nan_reaches_the_lead(
    raw_client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("typeform_form_response.json")
    payload["form_response"]["answers"][0]["text"] = "\ud800Ines"
    payload["form_response"]["calculated"] = {"score": math.nan}
    body = json.dumps(payload).encode()
    assert b"\\ud800" in body and b"NaN" in body

    response = raw_client.post(
        "/capture/typeform", content=body, headers=typeform_headers(body)
    )
    assert response.status_code == 200, response.text

    run_until_idle(build_worker(runtime))
    assert _dead_jobs(runtime) == []
    (inbound,) = inbounds(runtime)
    assert contact_of(runtime, inbound).first_name == "\ufffdInes"
    assert inbound.fields["calculated"] == {"score": "NaN"}


def test_a_typeform_email_that_is_not_one_is_no_lead_and_kept_as_typed(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("typeform_form_response.json")
    answers = payload["form_response"]["answers"]
    answers[2]["email"] = "not-an-email"
    del answers[3]  # the phone: nothing else reaches the person
    body = json.dumps(payload).encode()

    response = client.post(
        "/capture/typeform", content=body, headers=typeform_headers(body)
    )

    assert response.status_code == 200, response.text
    (not_lead,) = response.json()["not_leads"]
    assert "no email or phone" in not_lead["reason"]
    assert (
        "the email given ('not-an-email') is not an email address"
        in (not_lead["reason"])
    )
    (inbound,) = inbounds(runtime)
    assert inbound.status == "recorded" and inbound.contact_id is None
    assert inbound.fields["email_as_typed"] == "not-an-email"
    assert _contacts(runtime) == []


def test_a_phone_that_is_prose_is_kept_as_typed_never_the_contacts_phone(
    client: TestClient, runtime: Runtime
) -> None:
    body = json.dumps(
        {
            "id": "lead-prose-phone",
            "email": "oskar@lindenhall.example",
            "phone": "call me maybe",
        }
    ).encode()

    response = client.post(
        "/capture/leads/generic",
        content=body,
        headers=secret_header("GENERIC_LEAD_SECRET"),
    )

    assert response.status_code == 200, response.text
    (inbound,) = inbounds(runtime)
    contact = contact_of(runtime, inbound)
    assert (contact.email, contact.phone, contact.phone_e164) == (
        "oskar@lindenhall.example",
        None,
        None,
    )
    assert inbound.fields["phone_as_typed"] == "call me maybe"


def test_a_lead_whose_only_phone_is_prose_is_refused_like_one_without_any(
    client: TestClient, runtime: Runtime
) -> None:
    body = b'{"id": "lead-prose-only", "phone": "call me maybe"}'

    response = client.post(
        "/capture/leads/generic",
        content=body,
        headers=secret_header("GENERIC_LEAD_SECRET"),
    )

    assert response.status_code == 400
    assert "no email or phone" in response.json()["error"]["message"]
    assert inbounds(runtime) == []


# -- the model itself, whatever entry path built it ----------------------------


def test_storable_cleans_text_keys_and_numbers_at_any_depth() -> None:
    from firsttouch.capture.events import storable

    value: Any = {"a\x00": ["\ud800", {"n": math.inf}], "ok": 1.5, "b": True}
    assert storable(value) == {
        "a\ufffd": ["\ufffd", {"n": "Infinity"}],
        "ok": 1.5,
        "b": True,
    }


def test_a_copied_event_is_cleaned_like_a_new_one() -> None:
    event = InboundEvent(
        dedupe_key="k-1", channel="api", kind="form", source="api", provider="api"
    )

    copied = event.model_copy(
        update={
            "subject": "\udc80Re: pricing",
            "fields": {"score": math.nan},
            "person": PersonFacts(email="ops@", phone="+44 20 7946 0000"),
        }
    )

    assert copied.subject == "\ufffdRe: pricing"
    assert copied.fields == {"score": "NaN", "email_as_typed": "ops@"}
    assert (copied.person.email, copied.person.phone) == (None, "+44 20 7946 0000")
