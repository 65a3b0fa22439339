"""Inbound-parse email webhooks: Mailgun, SendGrid and Postmark."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers.mailgun import parse_mailgun
from firsttouch.capture.providers.postmark import parse_postmark
from firsttouch.capture.providers.sendgrid import parse_sendgrid
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from tests.capture.provider_support import (
    SECRETS,
    basic_auth,
    fixture_bytes,
    fixture_json,
    inbounds,
    with_provider_secrets,
)

MAILGUN_KEY = SECRETS["MAILGUN_WEBHOOK_SIGNING_KEY"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings)


def mailgun_signed(
    fields: dict[str, str], stamp: int, key: str = MAILGUN_KEY
) -> dict[str, str]:
    token = "9c3f0e6a1b2d4c5e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"
    signature = hmac.new(
        key.encode(), f"{stamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {**fields, "timestamp": str(stamp), "token": token, "signature": signature}


def test_mailgun_parsed_fields_become_an_email_lead_keyed_on_message_id() -> None:
    event = parse_mailgun(fixture_json("mailgun_inbound_fields.json"))
    assert (event.channel, event.kind, event.provider) == (
        "email",
        "message",
        "mailgun",
    )
    assert event.dedupe_key.startswith(
        "email:20260310135740.R1@mehta-partners.example:"
    )
    assert event.person.email == "ravi@mehta-partners.example"
    assert event.subject == "Question about approval workflows"
    assert "multi-level approvals" in (event.body_text or "")
    assert event.fields["envelope_recipient"] == "leads@mg.northwindledger.example"


def test_mailgun_raw_mime_is_parsed_as_is() -> None:
    raw = (
        "From: Ines Duarte <ines@porto-textiles.example>\r\n"
        "To: leads@mg.northwindledger.example\r\n"
        "Subject: =?utf-8?q?Cota=C3=A7=C3=A3o?=\r\n"
        "Message-ID: <raw-1@porto-textiles.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nOlá, queremos uma demo.\r\n"
    )
    event = parse_mailgun({"body-mime": raw, "recipient": "leads@mg.example"})
    assert event.subject == "Cotação"
    assert event.dedupe_key.startswith("email:raw-1@porto-textiles.example:")
    assert "queremos uma demo" in (event.body_text or "")


def test_sendgrid_parsed_fields_become_an_email_lead() -> None:
    event = parse_sendgrid(fixture_json("sendgrid_inbound_fields.json"))
    assert event.provider == "sendgrid" and event.channel == "email"
    assert event.dedupe_key.startswith("email:f00d5eed.1@trattoria-group.example:")
    assert event.person.email == "sofia.rossi@trattoria-group.example"
    assert event.fields["spf"] == "pass"
    assert event.fields["envelope"]["from"] == "sofia.rossi@trattoria-group.example"


def test_postmark_json_keeps_attachments_as_metadata_and_the_message_id() -> None:
    event = parse_postmark(fixture_bytes("postmark_inbound.json"))
    assert event.provider == "postmark"
    assert event.dedupe_key.startswith(
        "email:CA+kf81234abcd@mail.kestrel-foods.example:"
    )
    assert event.person.email == "amara.nwosu@kestrel-foods.example"
    [attachment] = event.fields["attachments"]
    assert attachment["filename"] == "sites.csv" and attachment["size"] == 20
    assert event.fields["postmark_message_id"] == "5d7c1e44-3b1a-4f0e-9a55-0c2d9b8e7f61"
    assert event.raw == fixture_bytes("postmark_inbound.json").decode()


def test_postmark_without_message_id_header_falls_back_to_postmarks_id() -> None:
    payload = fixture_json("postmark_inbound.json")
    payload["Headers"] = []
    event = parse_postmark(json.dumps(payload).encode())
    assert event.dedupe_key == "postmark:5d7c1e44-3b1a-4f0e-9a55-0c2d9b8e7f61"


def test_rebuilt_mail_is_byte_identical_on_a_retry() -> None:
    fields = fixture_json("sendgrid_inbound_fields.json")
    fields.pop("headers")
    fields["headers"] = "From: a@b.example\nSubject: no id\n"
    first, second = parse_sendgrid(fields), parse_sendgrid(dict(fields))
    assert first.dedupe_key == second.dedupe_key


# -- the web routes ------------------------------------------------------------


def test_signed_mailgun_multipart_post_is_stored_with_attachment_metadata(
    client: TestClient, runtime: Runtime
) -> None:
    stamp = int(runtime.clock.now().timestamp())
    fields = mailgun_signed(fixture_json("mailgun_inbound_fields.json"), stamp)
    files = {
        "attachment-1": ("budget.xlsx", b"PK\x03\x04 fake", "application/vnd.ms-excel")
    }
    for _ in range(2):
        response = client.post("/capture/email/mailgun", data=fields, files=files)
        assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert stored.channel == "email" and stored.contact_id and stored.owner_id
    assert stored.fields["attachments"][0]["filename"] == "budget.xlsx"


@pytest.mark.parametrize("problem", ["key", "stale", "missing"])
def test_mailgun_bad_stale_or_missing_signature_is_401(
    client: TestClient, runtime: Runtime, problem: str
) -> None:
    stamp = int(runtime.clock.now().timestamp())
    fields = fixture_json("mailgun_inbound_fields.json")
    data = {
        "key": mailgun_signed(fields, stamp, key="wrong"),
        "stale": mailgun_signed(fields, stamp - 3600),
        "missing": fields,
    }[problem]
    response = client.post("/capture/email/mailgun", data=data)
    assert response.status_code == 401 and inbounds(runtime) == []


def test_sendgrid_post_with_basic_auth_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    fields = fixture_json("sendgrid_inbound_fields.json")
    response = client.post(
        "/capture/email/sendgrid",
        data=fields,
        files={"attachment1": ("menu.pdf", b"%PDF-1.4", "application/pdf")},
        headers=basic_auth("SENDGRID_INBOUND_AUTH"),
    )
    assert response.status_code == 200
    [stored] = inbounds(runtime)
    assert stored.provider == "sendgrid" and stored.owner_id


def test_sendgrid_without_credentials_is_401(
    client: TestClient, runtime: Runtime
) -> None:
    fields = fixture_json("sendgrid_inbound_fields.json")
    assert client.post("/capture/email/sendgrid", data=fields).status_code == 401
    assert inbounds(runtime) == []


def test_postmark_post_is_stored_once(client: TestClient, runtime: Runtime) -> None:
    body = fixture_bytes("postmark_inbound.json")
    headers = {
        **basic_auth("POSTMARK_INBOUND_AUTH"),
        "Content-Type": "application/json",
    }
    for _ in range(2):
        assert (
            client.post(
                "/capture/email/postmark", content=body, headers=headers
            ).status_code
            == 200
        )
    [stored] = inbounds(runtime)
    assert stored.provider == "postmark" and stored.subject.startswith("Invoice")


def test_postmark_wrong_password_is_401_and_malformed_json_is_400(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("postmark_inbound.json")
    wrong = {"Authorization": "Basic aW5ib3VuZDpndWVzcw=="}
    assert (
        client.post("/capture/email/postmark", content=body, headers=wrong).status_code
        == 401
    )
    assert (
        client.post(
            "/capture/email/postmark",
            content=b"{oops",
            headers=basic_auth("POSTMARK_INBOUND_AUTH"),
        ).status_code
        == 400
    )
    assert inbounds(runtime) == []
