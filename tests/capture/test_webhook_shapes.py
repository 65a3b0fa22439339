"""A correctly signed body of an unexpected shape is a 400 that says why.

The sender cannot fix a body by sending it again, so a 5xx (retry) is the
wrong answer; the 400 names the provider and what was wrong.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.app_hooks_support import (
    meta_headers,
    secret_header,
    typeform_headers,
    with_app_secrets,
)
from tests.capture.mail_webhook_support import MAIL_SECRETS, basic
from tests.capture.provider_support import fixture_json, inbounds


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings, **MAIL_SECRETS)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def _refused(response: Any, *words: str) -> str:
    assert response.status_code == 400, response.text
    message = str(response.json()["error"]["message"])
    for word in words:
        assert word.lower() in message.lower(), message
    return message


def _meta(client: TestClient, payload: Any) -> Any:
    body = json.dumps(payload).encode()
    return client.post("/capture/chat/meta", content=body, headers=meta_headers(body))


def test_meta_messaging_that_is_not_a_list_is_refused_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    payload = {"object": "page", "entry": [{"id": "1", "time": 1, "messaging": True}]}

    _refused(_meta(client, payload), "Meta", "messaging")
    assert inbounds(runtime) == []


def test_a_whatsapp_change_whose_object_is_a_list_is_refused(
    client: TestClient,
) -> None:
    payload = fixture_json("whatsapp_messages.json")
    payload["object"] = []

    _refused(_meta(client, payload), "Meta", "object")


def test_a_brevo_item_whose_text_body_is_a_number_is_refused(
    client: TestClient,
) -> None:
    payload = fixture_json("brevo_inbound.json")
    payload["items"][0]["RawTextBody"] = -1
    response = client.post(
        "/capture/email/brevo",
        content=json.dumps(payload).encode(),
        headers=basic(MAIL_SECRETS["BREVO_INBOUND_AUTH"]),
    )

    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["rejected"], response.text
    else:
        _refused(response, "Brevo", "RawTextBody")


@pytest.mark.parametrize("text_part", [-1, {}])
def test_a_mailjet_text_part_that_is_not_text_is_refused(
    client: TestClient, text_part: Any
) -> None:
    payload = fixture_json("mailjet_parse.json")
    payload["Text-part"] = text_part
    response = client.post(
        "/capture/email/mailjet",
        content=json.dumps(payload).encode(),
        headers=basic(MAIL_SECRETS["MAILJET_INBOUND_AUTH"]),
    )

    _refused(response, "Mailjet", "Text-part")


def test_a_typeform_token_longer_than_any_id_is_refused_naming_it(
    client: TestClient, runtime: Runtime
) -> None:
    payload = fixture_json("typeform_form_response.json")
    payload["form_response"]["token"] = "t" * 5000
    body = json.dumps(payload).encode()

    response = client.post(
        "/capture/typeform", content=body, headers=typeform_headers(body)
    )

    _refused(response, "Typeform", "characters")
    assert inbounds(runtime) == []


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/capture/typeform", typeform_headers),
        (
            "/capture/leads/generic",
            lambda body: secret_header("GENERIC_LEAD_SECRET"),
        ),
    ],
)
def test_json_nested_thousands_deep_is_refused_not_a_crash(
    client: TestClient, path: str, headers: Any
) -> None:
    body = ('{"a":' * 5000 + "1" + "}" * 5000).encode()

    response = client.post(path, content=body, headers=headers(body))

    _refused(response, "deep")
