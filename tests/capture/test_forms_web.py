"""POST /capture/forms/{form_key}: every body type, mapping, bots and limits."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from firsttouch.store.models import Contact, Inbound
from firsttouch.workspace.routing import Form

URL = "/capture/forms/demo-request"
ORIGIN = "https://northwindledger.example"


def inbound_count(runtime) -> int:  # type: ignore[no-untyped-def]
    with runtime.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Inbound)) or 0


def test_json_submission_is_mapped_and_answered_202(client, runtime) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        URL,
        json={
            "First Name": "Grace",
            "lname": "Hopper",
            "work_email": "Grace@Cobol.example",
            "Company": "Cobol Systems",
            "Employees": "250",
            "Message": "pricing please",
            "utm_source": "linkedin",
            "utm_campaign": "q2",
            "budget": "50k",
        },
        headers={"Origin": ORIGIN, "Referer": "https://northwindledger.example/demo"},
    )

    assert response.status_code == 202, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    inbound_id = response.json()["inbound_id"]
    with runtime.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        contact = session.get(Contact, inbound.contact_id)
    assert contact.first_name == "Grace" and contact.last_name == "Hopper"
    assert contact.email_norm == "grace@cobol.example"
    assert inbound.body_text == "pricing please"
    assert inbound.utm["utm_source"] == "linkedin"
    assert inbound.utm["referrer"].endswith("/demo")
    assert inbound.campaign == "demo"
    assert inbound.fields["budget"] == "50k"
    assert inbound.source == "website" and inbound.channel == "web_form"


def test_plain_html_form_redirects_to_thank_you_page(client, runtime) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        URL,
        data={"your-name": "Alan Turing", "your-email": "alan@bletchley.example"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "https://northwindledger.example/thanks"
    assert inbound_count(runtime) == 1


def test_multipart_keeps_files_as_metadata(client, runtime) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/capture/forms/pricing",
        data={"email": "kat@johnson.example", "name": "Kat Johnson"},
        files={"rfp": ("rfp.pdf", b"%PDF-1.4 fake", "application/pdf")},
    )

    assert response.status_code == 202, response.text
    with runtime.db.sessions() as session:
        inbound = session.get(Inbound, response.json()["inbound_id"])
    assert inbound.fields["files"] == [
        {
            "field": "rfp",
            "filename": "rfp.pdf",
            "content_type": "application/pdf",
            "size": 13,
        }
    ]


def test_double_click_is_one_inbound(client, runtime) -> None:  # type: ignore[no-untyped-def]
    body = {"email": "dup@twice.example", "name": "Dee Twice"}
    first = client.post("/capture/forms/pricing", json=body)
    runtime.clock.advance(timedelta(seconds=3))
    second = client.post("/capture/forms/pricing", json=body)

    assert first.json()["inbound_id"] == second.json()["inbound_id"]
    assert second.json()["duplicate"] is True
    assert inbound_count(runtime) == 1


def test_a_double_click_across_a_bucket_edge_is_still_one_inbound(  # type: ignore[no-untyped-def]
    client, runtime
) -> None:
    body = {"email": "edge@twice.example", "name": "Eddie Edge"}
    runtime.clock.advance(timedelta(seconds=29))  # a second before the edge
    first = client.post("/capture/forms/pricing", json=body)
    runtime.clock.advance(timedelta(seconds=3))  # into the next 30 s bucket
    second = client.post("/capture/forms/pricing", json=body)
    runtime.clock.advance(timedelta(seconds=60))  # a real second submission
    third = client.post("/capture/forms/pricing", json=body)

    assert second.json()["duplicate"] is True
    assert second.json()["inbound_id"] == first.json()["inbound_id"]
    assert third.json()["duplicate"] is False
    assert inbound_count(runtime) == 2


def test_honeypot_answers_like_success_and_stores_nothing(client, runtime) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/capture/forms/pricing",
        json={"email": "bot@spam.example", "website_url": "http://x"},
    )

    assert response.status_code == 202
    assert inbound_count(runtime) == 0


def test_bad_input_is_refused_with_the_reason(client, runtime) -> None:  # type: ignore[no-untyped-def]
    assert (
        client.post("/capture/forms/nope", json={"email": "a@b.example"}).status_code
        == 404
    )
    bad_json = client.post(
        URL, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]["message"]
    no_contact = client.post(URL, json={"fname": "Nobody"})
    assert no_contact.status_code == 400
    assert no_contact.json()["error"]["field"] == "email"
    refused = client.post(
        URL, json={"email": "a@b.example"}, headers={"Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert inbound_count(runtime) == 0


def test_preflight_allows_the_teams_site(client) -> None:  # type: ignore[no-untyped-def]
    response = client.options(
        URL, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_rate_limit_per_address(client, runtime) -> None:  # type: ignore[no-untyped-def]
    limit = runtime.workspace.forms["pricing"].rate_limit_per_minute
    codes = [
        client.post(
            "/capture/forms/pricing", json={"email": f"p{i}@rate.example"}
        ).status_code
        for i in range(limit + 1)
    ]
    assert codes[:limit] == [202] * limit
    assert codes[-1] == 429
    runtime.clock.advance(timedelta(minutes=1))
    assert (
        client.post(
            "/capture/forms/pricing", json={"email": "later@rate.example"}
        ).status_code
        == 202
    )


def test_signed_form_requires_a_valid_hmac(client, runtime) -> None:  # type: ignore[no-untyped-def]
    forms = dict(runtime.workspace.forms)
    forms["signed"] = Form(name="Signed", hmac_secret="${FORM_SECRET}")
    runtime.workspace = runtime.workspace.model_copy(update={"forms": forms})
    runtime.settings = runtime.settings.with_overrides(env={"FORM_SECRET": "s3cret"})
    body = b'{"email": "signed@hmac.example"}'
    good = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()

    unsigned = client.post(
        "/capture/forms/signed",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    wrong = client.post(
        "/capture/forms/signed",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Firsttouch-Signature": "sha256=" + "0" * 64,
        },
    )
    signed = client.post(
        "/capture/forms/signed",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Firsttouch-Signature": f"sha256={good}",
        },
    )

    assert unsigned.status_code == 401 and wrong.status_code == 401
    assert signed.status_code == 202
    assert inbound_count(runtime) == 1


def test_api_inbound_needs_a_key_and_dedupes_on_external_id(client, runtime) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.web.apikeys import create_api_key

    key = create_api_key(runtime.db, "partner", runtime.clock)
    body = {
        "person": {"email": "ref@partner.example", "full_name": "Rae Ferral"},
        "channel": "referral",
        "external_id": "ref-77",
        "message": "warm intro",
    }

    assert client.post("/api/inbounds", json=body).status_code == 401
    first = client.post("/api/inbounds", json=body, headers={"X-Api-Key": key})
    again = client.post("/api/inbounds", json=body, headers={"X-Api-Key": key})

    assert first.status_code == 202, first.text
    assert again.json()["duplicate"] is True
    assert again.json()["inbound_id"] == first.json()["inbound_id"]
    assert first.json()["owner_id"]


def test_an_idempotency_key_reused_for_another_lead_is_refused(client, runtime) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.web.apikeys import create_api_key

    headers = {
        "X-Api-Key": create_api_key(runtime.db, "partner", runtime.clock),
        "Idempotency-Key": "batch-7-row-1",
    }
    first = {"person": {"email": "una@first.example"}, "source": "partner"}
    retry = '{"source": "partner",  "person": {"email": "una@first.example"}}'
    other = {"person": {"email": "otto@second.example"}, "source": "partner"}

    made = client.post("/api/inbounds", json=first, headers=headers)
    again = client.post(
        "/api/inbounds",
        content=retry,
        headers={**headers, "Content-Type": "application/json"},
    )
    reused = client.post("/api/inbounds", json=other, headers=headers)

    assert made.status_code == 202 and again.json()["duplicate"] is True
    assert reused.status_code == 422, reused.text
    assert "Idempotency-Key" in reused.text and "new key" in reused.text
    assert inbound_count(runtime) == 1


def test_snippet_is_a_pasteable_form_that_posts_back(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/capture/forms/demo-request/snippet")

    assert response.status_code == 200
    assert 'action="http://127.0.0.1:8000/capture/forms/demo-request"' in response.text
    assert 'name="website_url"' in response.text


def test_merge_and_undo_over_the_api(client, runtime) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.web.apikeys import create_api_key

    key = {"X-Api-Key": create_api_key(runtime.db, "ops", runtime.clock)}
    a = client.post(
        "/api/inbounds", headers=key, json={"person": {"email": "pat@one.example"}}
    ).json()
    b = client.post(
        "/api/inbounds", headers=key, json={"person": {"phone": "+14155550123"}}
    ).json()

    merged = client.post(
        f"/api/contacts/{a['contact_id']}/merge",
        headers=key,
        json={"merged_id": b["contact_id"], "reason": "same Pat"},
    )
    assert merged.status_code == 200, merged.text
    with runtime.db.sessions() as session:
        assert session.get(Inbound, b["inbound_id"]).contact_id == a["contact_id"]

    undone = client.post(
        f"/api/contact-merges/{merged.json()['merge_id']}/undo", headers=key
    )
    assert undone.status_code == 200
    with runtime.db.sessions() as session:
        assert session.get(Inbound, b["inbound_id"]).contact_id == b["contact_id"]
    again = client.post(
        f"/api/contact-merges/{merged.json()['merge_id']}/undo", headers=key
    )
    assert again.status_code == 400


def test_oversized_body_is_refused_with_413(client, runtime) -> None:  # type: ignore[no-untyped-def]
    big = "x" * (runtime.settings.max_body_bytes + 10)
    response = client.post(URL, json={"email": "big@body.example", "Message": big})

    assert response.status_code == 413
    assert inbound_count(runtime) == 0


@pytest.mark.postgres
def test_form_submission_on_postgresql(runtime, pg_db) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from firsttouch.web import create_app

    runtime.db = pg_db
    with TestClient(create_app(runtime)) as pg_client:
        response = pg_client.post(
            URL,
            json={"fname": "Zoë", "work_email": "zoe@ümlaut.example", "x": [1, 2]},
        )
        again = pg_client.post(
            URL,
            json={"fname": "Zoë", "work_email": "zoe@ümlaut.example", "x": [1, 2]},
        )

    assert response.status_code == 202, response.text
    assert again.json()["inbound_id"] == response.json()["inbound_id"]
    assert inbound_count(runtime) == 1


def test_deeply_nested_json_is_a_400_not_a_crash(client, runtime) -> None:  # type: ignore[no-untyped-def]
    body = '{"email": "deep@nested.example", "extra": ' + "[" * 5000 + "]" * 5000 + "}"
    response = client.post(
        "/capture/forms/demo-request",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Origin": "https://northwindledger.example",
        },
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.text


def test_a_browser_form_with_no_email_gets_a_page_not_json(client, runtime) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/capture/forms/demo-request",
        data={"First Name": "<b>Ada</b>", "Message": "hi"},
        headers={"Accept": "text/html,application/xhtml+xml", "Origin": ORIGIN},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "Your form was not sent" in response.text
    assert "email or phone" in response.text
    assert "<b>Ada</b>" not in response.text
