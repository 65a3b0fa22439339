"""Twilio webhooks with a JSON body: signed through ``bodySHA256``, on both engines.

Twilio puts the hex SHA-256 of a JSON body in the URL it calls and signs
that URL with no parameters after it. Every request here is signed with the
Twilio SDK's own ``RequestValidator``, the way Twilio's side computes it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from firsttouch.capture.providers.twilio_signature import read_signed_params
from firsttouch.clock import VirtualClock
from firsttouch.config import Secret, Settings
from firsttouch.errors import InputError, SignatureError
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.workspace import Workspace
from tests.capture.provider_support import (
    PUBLIC_URL,
    TWILIO_TOKEN,
    fixture_bytes,
    inbound_by_key,
    inbounds,
    with_provider_secrets,
)

SMS_SID = "SM5a1b2c3d4e5f60718293a4b5c6d7e8f9"
CALL_SID = "CA1234abcd1234abcd1234abcd1234abcd"
SMS_PATH = "/capture/twilio/sms"
JSON = "application/json"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings)


@pytest.fixture
def runtime(
    settings: Settings, any_db: Database, workspace: Workspace, clock: VirtualClock
) -> Runtime:
    """The runtime the web client serves, on each engine in turn."""
    return Runtime(
        settings=settings.with_overrides(database_url=any_db.url),
        db=any_db,
        workspace=workspace,
        clock=clock,
    )


def as_json(form_fixture: str) -> bytes:
    """A fixture's form parameters as the JSON object Twilio would send."""
    pairs = parse_qsl(fixture_bytes(form_fixture).decode(), keep_blank_values=True)
    return json.dumps(dict(pairs), indent=1).encode()


def signed_json(
    path: str, body: bytes, token: str = TWILIO_TOKEN, signed_body: bytes | None = None
) -> tuple[str, dict[str, str]]:
    """The path with its ``bodySHA256`` and the headers Twilio sends with it."""
    validator = RequestValidator(token)
    digest = validator.compute_hash((signed_body or body).decode())
    path_with_hash = f"{path}?bodySHA256={digest}"
    signature = validator.compute_signature(PUBLIC_URL + path_with_hash, {})
    headers = {"Content-Type": JSON, "X-Twilio-Signature": signature}
    return path_with_hash, headers


def post_json(client: TestClient, path: str, body: bytes, **signing: Any) -> Any:
    url, headers = signed_json(path, body, **signing)
    return client.post(url, content=body, headers=headers)


# -- the check itself ----------------------------------------------------------


def test_a_json_body_signed_by_the_sdk_is_read_as_its_parameters() -> None:
    body = json.dumps({"MessageSid": "SM1", "NumMedia": 2, "MediaUrl": ["a", "b"]})
    path, headers = signed_json(SMS_PATH, body.encode())

    params = read_signed_params(
        Secret(TWILIO_TOKEN),
        PUBLIC_URL + path,
        body.encode(),
        "application/json; charset=utf-8",
        headers["X-Twilio-Signature"],
    )

    assert params.get("MessageSid") == "SM1"
    assert params.get("NumMedia") == "2"
    assert params.getall("MediaUrl") == ["a", "b"]


def test_a_json_body_that_is_not_the_one_hashed_is_refused() -> None:
    signed = b'{"MessageSid": "SM1", "Body": "hello"}'
    sent = b'{"MessageSid": "SM1", "Body": "send money"}'
    path, headers = signed_json(SMS_PATH, sent, signed_body=signed)

    with pytest.raises(SignatureError, match="does not match"):
        read_signed_params(
            Secret(TWILIO_TOKEN),
            PUBLIC_URL + path,
            sent,
            JSON,
            headers["X-Twilio-Signature"],
        )


def test_a_json_body_without_its_hash_in_the_url_is_refused() -> None:
    body = b'{"MessageSid": "SM1"}'
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        PUBLIC_URL + SMS_PATH, {}
    )

    with pytest.raises(SignatureError, match="bodySHA256"):
        read_signed_params(
            Secret(TWILIO_TOKEN), PUBLIC_URL + SMS_PATH, body, JSON, signature
        )


def test_a_json_body_signed_with_a_shared_key_and_hmac_sha256_passes() -> None:
    body = b'{"MessageSid": "SM1"}'
    validator = RequestValidator("shared-key-secret")
    url = f"{PUBLIC_URL}{SMS_PATH}?bodySHA256={validator.compute_hash(body.decode())}"
    signature = validator.compute_signature(url, {}, "HMAC_SHA256")
    settings_header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"

    params = read_signed_params(
        Secret("shared-key-secret"), url, body, JSON, signature, settings_header
    )

    assert params.get("MessageSid") == "SM1"
    with pytest.raises(SignatureError):
        read_signed_params(Secret("shared-key-secret"), url, body, JSON, signature)


def test_a_json_body_without_a_signature_is_refused_before_it_is_read() -> None:
    with pytest.raises(SignatureError, match="X-Twilio-Signature"):
        read_signed_params(Secret(TWILIO_TOKEN), PUBLIC_URL, b"\xff{", JSON, None)


def test_a_signed_body_that_is_not_a_json_object_is_a_400() -> None:
    body = b'["MessageSid", "SM1"]'
    path, headers = signed_json(SMS_PATH, body)

    with pytest.raises(InputError, match="JSON object") as raised:
        read_signed_params(
            Secret(TWILIO_TOKEN),
            PUBLIC_URL + path,
            body,
            JSON,
            headers["X-Twilio-Signature"],
        )
    assert not isinstance(raised.value, SignatureError)


# -- the web routes ------------------------------------------------------------


def test_a_json_sms_is_stored_like_its_form_with_contact_and_owner(
    client: TestClient, runtime: Runtime
) -> None:
    response = post_json(client, SMS_PATH, as_json("twilio_sms_inbound.form"))

    assert response.status_code == 200
    stored = inbound_by_key(runtime, f"twilio:sms:{SMS_SID}")
    assert stored is not None
    assert stored.channel == "sms" and stored.contact_id and stored.owner_id
    assert "pricing for 300 staff" in (stored.body_text or "")


def test_the_same_sms_as_json_and_as_a_form_is_one_inbound(
    client: TestClient, runtime: Runtime
) -> None:
    form = fixture_bytes("twilio_sms_inbound.form")
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        PUBLIC_URL + SMS_PATH, dict(parse_qsl(form.decode(), keep_blank_values=True))
    )
    as_form = client.post(
        SMS_PATH,
        content=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    as_json_body = post_json(client, SMS_PATH, as_json("twilio_sms_inbound.form"))

    assert [as_form.status_code, as_json_body.status_code] == [200, 200]
    assert len(inbounds(runtime)) == 1


def test_a_tampered_json_sms_is_401_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    genuine = as_json("twilio_sms_inbound.form")
    forged = genuine.replace(b"300 staff", b"3000 staff")

    response = post_json(client, SMS_PATH, forged, signed_body=genuine)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_invalid"
    assert inbounds(runtime) == []


def test_a_json_sms_signed_with_the_wrong_token_is_401(
    client: TestClient, runtime: Runtime
) -> None:
    body = as_json("twilio_sms_inbound.form")

    response = post_json(client, SMS_PATH, body, token="not-the-account-token")

    assert response.status_code == 401
    assert inbounds(runtime) == []


def test_a_json_missed_call_status_is_a_missed_call_lead(
    client: TestClient, runtime: Runtime
) -> None:
    body = as_json("twilio_voice_status_no_answer.form")

    response = post_json(client, "/capture/twilio/voice/status", body)

    assert response.status_code == 200
    stored = inbounds(runtime)
    assert [(i.channel, i.kind) for i in stored] == [("call", "missed_call")]
    assert stored[0].contact_id is not None
