"""Meta Lead Ads: the handshake, the signed notice, Graph lead retrieval."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.meta_graph import GraphClient, GraphError
from firsttouch.capture.providers.meta_leads import (
    lead_event,
    parse_leadgen_notification,
    verify_meta_signature,
)
from firsttouch.config import Secret, Settings
from firsttouch.errors import SignatureError
from firsttouch.runtime import Runtime
from tests.capture.graph_server import GraphFake, graph_error, graph_server
from tests.capture.provider_support import (
    SECRETS,
    fixture_bytes,
    fixture_json,
    inbounds,
    with_provider_secrets,
)

LEAD_ID = "900100200300400"
APP_SECRET = SECRETS["META_APP_SECRET"]
PAGE_TOKEN = SECRETS["META_PAGE_ACCESS_TOKEN"]


@pytest.fixture
def graph() -> Iterator[GraphFake]:
    with graph_server() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, graph: GraphFake) -> Settings:
    return with_provider_secrets(settings, META_GRAPH_URL=graph.base_url)


def sign(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


# -- parsing and signature -----------------------------------------------------


def test_notification_names_each_lead_to_fetch() -> None:
    [notice] = parse_leadgen_notification(
        fixture_bytes("meta_leadgen_notification.json")
    )
    assert notice.leadgen_id == LEAD_ID
    assert notice.form_id == "700700700700" and notice.page_id == "444000111222"


def test_lead_fields_become_person_facts_and_answers() -> None:
    [notice] = parse_leadgen_notification(
        fixture_bytes("meta_leadgen_notification.json")
    )
    event = lead_event(notice, fixture_json("meta_graph_lead.json"), "{}")
    assert (event.channel, event.kind, event.source, event.provider) == (
        "lead_ad",
        "lead_ad",
        "meta_lead_ads",
        "meta",
    )
    assert event.dedupe_key == f"meta:leadgen:{LEAD_ID}"
    assert event.person.email == "tomas.ferreira@harborfreight-logistics.example"
    assert event.person.phone == "+351912345678"
    assert event.person.company == "Harbor Freight Logistics"
    assert event.fields["answers"]["how_many_invoices_per_month?"] == "1,000-5,000"
    assert event.fields["consent_checkboxes"] == {"marketing_ok": True}
    assert event.campaign == "AP automation - spring"


def test_signature_must_be_sha256_hmac_of_the_raw_body() -> None:
    body = fixture_bytes("meta_leadgen_notification.json")
    verify_meta_signature(sign(body)["X-Hub-Signature-256"], body, Secret(APP_SECRET))
    with pytest.raises(SignatureError):
        verify_meta_signature(
            sign(body, "other")["X-Hub-Signature-256"], body, Secret(APP_SECRET)
        )
    with pytest.raises(SignatureError, match="sha256="):
        verify_meta_signature("sha1=abc", body, Secret(APP_SECRET))


# -- Graph client against the loopback server ----------------------------------


def test_graph_client_sends_the_page_token_and_appsecret_proof(
    graph: GraphFake,
) -> None:
    graph.lead(LEAD_ID, fixture_json("meta_graph_lead.json"))
    with GraphClient(
        graph.base_url, Secret(PAGE_TOKEN), app_secret=Secret(APP_SECRET)
    ) as client:
        lead = client.fetch_lead(LEAD_ID)
    assert lead["id"] == LEAD_ID
    query = graph.requests[0]["query"]
    assert query["access_token"] == PAGE_TOKEN
    assert (
        query["appsecret_proof"]
        == hmac.new(
            APP_SECRET.encode(), PAGE_TOKEN.encode(), hashlib.sha256
        ).hexdigest()
    )
    assert "field_data" in query["fields"]


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [
        (429, graph_error(4, "Application request limit reached"), True),
        (400, graph_error(17, "User request limit reached"), True),
        (500, graph_error(2, "Service temporarily unavailable"), True),
        (400, graph_error(190, "Error validating access token", subcode=463), False),
        (403, graph_error(200, "Requires leads_retrieval permission"), False),
    ],
)
def test_graph_errors_say_whether_to_retry(
    graph: GraphFake, status: int, body: dict, retryable: bool
) -> None:
    graph.fail(LEAD_ID, status, body, {"Retry-After": "30"} if status == 429 else None)
    with (
        GraphClient(graph.base_url, Secret(PAGE_TOKEN)) as client,
        pytest.raises(GraphError) as caught,
    ):
        client.fetch_lead(LEAD_ID)
    assert caught.value.retryable is retryable
    assert caught.value.graph_code == body["error"]["code"]
    assert PAGE_TOKEN not in str(caught.value)


def test_unreachable_graph_is_a_retryable_error() -> None:
    with (
        GraphClient(
            "http://127.0.0.1:9/v21.0", Secret(PAGE_TOKEN), timeout=2
        ) as client,
        pytest.raises(GraphError) as caught,
    ):
        client.fetch_lead(LEAD_ID)
    assert caught.value.retryable


# -- the web routes ------------------------------------------------------------


def test_verification_challenge_is_echoed_for_our_token(client: TestClient) -> None:
    response = client.get(
        "/capture/meta/leads",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": SECRETS["META_VERIFY_TOKEN"],
            "hub.challenge": "1158201444",
        },
    )
    assert response.status_code == 200 and response.text == "1158201444"


def test_verification_with_the_wrong_token_is_403(client: TestClient) -> None:
    response = client.get(
        "/capture/meta/leads",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "guess",
            "hub.challenge": "1",
        },
    )
    assert response.status_code == 403
    assert "META_VERIFY_TOKEN" in response.json()["error"]["message"]


def test_signed_notice_fetches_the_lead_and_stores_it_once(
    client: TestClient, runtime: Runtime, graph: GraphFake
) -> None:
    graph.lead(LEAD_ID, fixture_json("meta_graph_lead.json"))
    body = fixture_bytes("meta_leadgen_notification.json")
    for _ in range(2):  # Meta's retry of the same notice
        response = client.post("/capture/meta/leads", content=body, headers=sign(body))
        assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert stored.dedupe_key == f"meta:leadgen:{LEAD_ID}"
    assert stored.channel == "lead_ad" and stored.contact_id and stored.owner_id
    assert response.json()["duplicates"] == 1


def test_bad_signature_is_401_without_fetching_or_storing(
    client: TestClient, runtime: Runtime, graph: GraphFake
) -> None:
    body = fixture_bytes("meta_leadgen_notification.json")
    response = client.post(
        "/capture/meta/leads", content=body, headers=sign(body, "not-the-app-secret")
    )
    assert response.status_code == 401
    assert inbounds(runtime) == [] and graph.requests == []


def test_throttled_graph_answers_503_so_meta_retries_then_the_lead_lands(
    client: TestClient, runtime: Runtime, graph: GraphFake
) -> None:
    graph.fail(
        LEAD_ID,
        429,
        graph_error(4, "Application request limit reached"),
        {"Retry-After": "120"},
    )
    graph.lead(LEAD_ID, fixture_json("meta_graph_lead.json"))
    body = fixture_bytes("meta_leadgen_notification.json")

    first = client.post("/capture/meta/leads", content=body, headers=sign(body))
    assert first.status_code == 503 and first.headers["retry-after"] == "120"
    assert inbounds(runtime) == []

    second = client.post("/capture/meta/leads", content=body, headers=sign(body))
    assert second.status_code == 200 and len(inbounds(runtime)) == 1


def test_notice_without_leadgen_changes_is_acknowledged(
    client: TestClient, runtime: Runtime
) -> None:
    body = b'{"object": "page", "entry": [{"id": "1", "changes": [{"field": "feed"}]}]}'
    response = client.post("/capture/meta/leads", content=body, headers=sign(body))
    assert response.status_code == 200 and inbounds(runtime) == []


def test_unreadable_body_is_400(client: TestClient) -> None:
    body = b"{not json"
    response = client.post("/capture/meta/leads", content=body, headers=sign(body))
    assert response.status_code == 400
