"""LinkedIn Lead Sync: endpoint validation, signed notifications, DELETED."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.linkedin import parse_linkedin
from firsttouch.capture.providers.linkedin_api import read_answers
from firsttouch.config import Settings
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from tests.capture.provider_support import (
    SECRETS,
    fixture_bytes,
    fixture_json,
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


# -- answers from the Lead Sync API (a loopback server) ------------------------


class _LinkedInFake(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, dict]] = {}
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.seen.append({"path": self.path, **dict(self.headers)})
        status, body = self.answers.get(
            self.path, (404, {"message": "Not found", "status": 404})
        )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def linkedin_api() -> Iterator[type[_LinkedInFake]]:
    handler = type("Fake", (_LinkedInFake,), {"answers": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    handler.base = f"http://127.0.0.1:{server.server_address[1]}/rest"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def api_settings(settings: Settings, linkedin_api: type[_LinkedInFake]) -> Settings:
    return settings.with_overrides(
        env={
            **settings.env,
            "LINKEDIN_ACCESS_TOKEN": "li-access-token-for-tests",
            "LINKEDIN_API_URL": linkedin_api.base,
        }
    )  # type: ignore[attr-defined]


def test_answers_map_predefined_fields_and_choice_labels() -> None:
    person, answers = read_answers(
        fixture_json("linkedin_form_response.json"),
        fixture_json("linkedin_lead_form.json"),
    )
    assert person.email == "h.tanaka@osaka-precision.example"
    assert (person.first_name, person.last_name) == ("Hiroshi", "Tanaka")
    assert person.company == "Osaka Precision Parts"
    assert answers["invoiceVolume"] == "500 to 5,000"


def test_created_lead_is_stored_with_the_fetched_answers(
    client: TestClient,
    runtime: Runtime,
    api_settings: Settings,
    linkedin_api: type[_LinkedInFake],
) -> None:
    runtime.settings = api_settings
    linkedin_api.answers.update(
        {
            "/rest/leadFormResponses/7f3e-22aa-91": (
                200,
                fixture_json("linkedin_form_response.json"),
            ),
            "/rest/leadForms/5150": (200, fixture_json("linkedin_lead_form.json")),
        }
    )
    body = fixture_bytes("linkedin_lead_created.json")
    response = client.post("/capture/linkedin", content=body, headers=sign(body))
    assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert stored.fields["answers"]["email"] == "h.tanaka@osaka-precision.example"
    assert stored.campaign == "urn:li:sponsoredCampaign:4242"
    assert stored.contact_id and stored.owner_id
    first = linkedin_api.seen[0]
    assert first["Authorization"] == "Bearer li-access-token-for-tests"
    assert first["LinkedIn-Version"] and first["X-Restli-Protocol-Version"] == "2.0.0"


def test_busy_linkedin_api_answers_503_and_stores_nothing(
    client: TestClient,
    runtime: Runtime,
    api_settings: Settings,
    linkedin_api: type[_LinkedInFake],
) -> None:
    runtime.settings = api_settings
    linkedin_api.answers["/rest/leadFormResponses/7f3e-22aa-91"] = (
        429,
        {"message": "Resource level throttle limit reached", "status": 429},
    )
    body = fixture_bytes("linkedin_lead_created.json")
    response = client.post("/capture/linkedin", content=body, headers=sign(body))
    assert response.status_code == 503 and inbounds(runtime) == []


def test_refused_fetch_still_stores_the_notification(
    client: TestClient,
    runtime: Runtime,
    api_settings: Settings,
    linkedin_api: type[_LinkedInFake],
) -> None:
    runtime.settings = api_settings
    linkedin_api.answers["/rest/leadFormResponses/7f3e-22aa-91"] = (
        403,
        {"message": "Not enough permissions", "status": 403},
    )
    body = fixture_bytes("linkedin_lead_created.json")
    assert (
        client.post("/capture/linkedin", content=body, headers=sign(body)).status_code
        == 200
    )
    [stored] = inbounds(runtime)
    assert stored.fields["needs_fetch"] is True
