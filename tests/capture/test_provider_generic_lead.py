"""The generic lead webhook: Zapier-like senders, mapped like web forms."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.generic_lead import parse_generic_lead
from firsttouch.config import Settings
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.web import create_app
from firsttouch.web.fast_lane import lane_paths
from tests.capture.app_hooks_support import (
    contact_of,
    secret_header,
    store_counts,
    with_app_secrets,
)
from tests.capture.provider_support import fixture_bytes, fixture_json, inbounds

URL = "/capture/leads/generic"
SECRET = "GENERIC_LEAD_SECRET"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def test_nested_contact_fields_map_like_a_web_form() -> None:
    event = parse_generic_lead(fixture_bytes("generic_lead_zapier.json"))
    assert (event.channel, event.kind, event.source) == ("api", "form", "webflow-zap")
    assert event.dedupe_key == "webhook:webflow-zap:zap-run-7731"
    assert event.person.email == "hannah.lindqvist@evergreen-outfitters.example"
    assert (event.person.first_name, event.person.company) == (
        "Hannah",
        "Evergreen Outfitters",
    )
    assert event.body_text == "We are moving off Bill.com next quarter."
    assert event.utm == {"utm_source": "google", "utm_campaign": "brand-search"}
    assert event.fields["payload"]["plan_interest"] == "growth"
    assert event.fields["page_url"].endswith("/demo")


def test_without_an_id_the_body_digest_dedupes_and_zapier_names_the_source() -> None:
    body = b'{"email": "sam@fernhill.example", "name": "Sam Ortiz"}'
    event = parse_generic_lead(body, user_agent="Zapier")
    assert event.source == "zapier" and event.dedupe_key.startswith(
        "webhook:zapier:sha256:"
    )
    assert parse_generic_lead(body, user_agent="Zapier").dedupe_key == event.dedupe_key


def test_a_record_that_is_not_a_person_is_recorded_not_a_lead() -> None:
    body = b'{"entityType": "account", "attributes": {"domain": "acme.example"}}'
    event = parse_generic_lead(body)
    assert not event.creates_lead and "'account' record" in event.fields["not_a_lead"]


def test_a_lead_nobody_can_reach_is_refused_with_the_reason() -> None:
    with pytest.raises(InputError, match="no email or phone"):
        parse_generic_lead(b'{"prop1": "value1"}')
    with pytest.raises(InputError, match="must be a JSON object"):
        parse_generic_lead(b'[{"email": "a@b.example"}]')


def test_posted_lead_has_contact_and_owner(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("generic_lead_zapier.json")
    response = client.post(URL, content=body, headers=secret_header(SECRET))

    assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert (stored.channel, stored.source, stored.status) == (
        "api",
        "webflow-zap",
        "new",
    )
    assert stored.owner_id
    contact = contact_of(runtime, stored)
    assert contact.email == "hannah.lindqvist@evergreen-outfitters.example"


def test_retry_answers_200_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("generic_lead_zapier.json")
    client.post(URL, content=body, headers=secret_header(SECRET))
    before = store_counts(runtime)
    again = client.post(URL, content=body, headers=secret_header(SECRET))
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert store_counts(runtime) == before


def test_wrong_or_missing_secret_is_401_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("generic_lead_zapier.json")
    wrong = client.post(URL, content=body, headers=secret_header(SECRET, "x"))
    missing = client.post(URL, content=body)
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert "X-Firsttouch-Secret" in missing.json()["error"]["message"]
    assert wrong.json()["error"]["message"].startswith(
        "Generic lead webhook secret does not match GENERIC_LEAD_SECRET"
    )
    assert inbounds(runtime) == []


def test_no_webhook_route_is_named_with_webhook_twice() -> None:
    # Each provider's label is followed by "webhook" in its route name and in
    # its errors ("Lead webhook webhook secret ..." read badly).
    from firsttouch.web import capture_app_webhooks, capture_webhooks

    names = [
        getattr(route, "name", "")
        for module in (capture_app_webhooks, capture_webhooks)
        for route in module.router.routes
    ]
    webhooks = [n for n in names if n.endswith(" webhook")]
    assert "Generic lead webhook" in webhooks
    assert [n for n in webhooks if n.lower().endswith("webhook webhook")] == []


def test_malformed_json_is_400_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    response = client.post(URL, content=b'{"email": ', headers=secret_header(SECRET))
    assert response.status_code == 400
    assert "Lead webhook body is not valid JSON" in response.json()["error"]["message"]
    unreachable = json.dumps(
        fixture_json("generic_lead_zapier.json")["contact"] | {"Work Email": ""}
    )
    refused = client.post(
        URL, content=unreachable.encode(), headers=secret_header(SECRET)
    )
    assert refused.status_code == 400 and "no email or phone" in refused.text
    assert inbounds(runtime) == []


def test_every_app_webhook_post_has_a_fast_lane_and_stays_documented(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)
    lanes = set(lane_paths(app))
    paths = (
        "/capture/typeform",
        "/capture/formsort",
        "/capture/hubspot",
        "/capture/close",
        "/capture/chat/olark",
        "/capture/chat/meta",
        "/capture/leads/generic",
    )
    documented = app.openapi()["paths"]
    for path in paths:
        assert path in lanes, path
        assert "post" in documented[path], path
