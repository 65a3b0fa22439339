"""No signed body, however oddly shaped, makes a webhook answer 5xx.

A 5xx tells a provider to deliver again, and a body whose shape the parser
cannot read will never change: the sender retries forever. Each case takes a
valid, correctly signed payload of one provider, swaps one value somewhere
in it for another type (a list, a number, null, a lone surrogate, NaN, a
very long string, deep nesting), signs it again and posts it. The answer
must be 2xx or a 4xx that names the provider; what was accepted must then
go through ``capture.ingest`` without failing. Seeded, a few hundred cases.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import math
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from firsttouch.capture.providers import sparkpost
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.app_hooks_support import (
    close_headers,
    hubspot_headers,
    meta_headers,
    secret_header,
    typeform_headers,
    with_app_secrets,
)
from tests.capture.mail_webhook_support import MAIL_SECRETS, basic
from tests.capture.provider_support import SECRETS, basic_auth, fixture_json
from tests.capture.test_provider_bookings import calcom_headers, calendly_headers
from tests.capture.test_provider_chat import generic_headers, intercom_headers
from tests.capture.test_provider_resend import svix_headers
from tests.conftest import settle_accepted

SEED = 20261204
DEEP_MARK = "\u0002deep:"
CASES_PER_ROUTE = 14

Sign = Callable[[bytes, Runtime, str], dict[str, str]]


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# (path, fixture, signer): every JSON webhook whose sender signs or
# authenticates the body in a way a test can repeat.
ROUTES: list[tuple[str, str, Sign]] = [
    (
        "/capture/typeform",
        "typeform_form_response.json",
        lambda b, r, p: typeform_headers(b),
    ),
    (
        "/capture/chat/meta",
        "messenger_ad_referral.json",
        lambda b, r, p: meta_headers(b),
    ),
    ("/capture/chat/meta", "whatsapp_messages.json", lambda b, r, p: meta_headers(b)),
    (
        "/capture/formsort",
        "formsort_finalized.json",
        lambda b, r, p: secret_header("FORMSORT_WEBHOOK_SECRET"),
    ),
    (
        "/capture/chat/olark",
        "olark_offline_message.json",
        lambda b, r, p: secret_header("OLARK_WEBHOOK_SECRET"),
    ),
    (
        "/capture/leads/generic",
        "generic_lead_zapier.json",
        lambda b, r, p: secret_header("GENERIC_LEAD_SECRET"),
    ),
    (
        "/capture/hubspot",
        "hubspot_batch.json",
        lambda b, r, p: hubspot_headers(b, p, r.clock.now()),
    ),
    (
        "/capture/close",
        "close_opportunity_won.json",
        lambda b, r, p: close_headers(b, r.clock.now()),
    ),
    (
        "/capture/calendly",
        "calendly_invitee_created.json",
        lambda b, r, p: calendly_headers(b, int(r.clock.now().timestamp())),
    ),
    (
        "/capture/calcom",
        "calcom_booking_created.json",
        lambda b, r, p: calcom_headers(b),
    ),
    (
        "/capture/chat/intercom",
        "intercom_contact_created.json",
        lambda b, r, p: intercom_headers(b),
    ),
    (
        "/capture/chat/generic",
        "generic_chat_message.json",
        lambda b, r, p: generic_headers(b),
    ),
    (
        "/capture/linkedin",
        "linkedin_lead_created.json",
        lambda b, r, p: {
            "X-LI-Signature": _hmac_hex(SECRETS["LINKEDIN_CLIENT_SECRET"], b),
            "Content-Type": "application/json",
        },
    ),
    (
        "/capture/email/postmark",
        "postmark_inbound.json",
        lambda b, r, p: {
            **basic_auth("POSTMARK_INBOUND_AUTH"),
            "Content-Type": "application/json",
        },
    ),
    (
        "/capture/email/brevo",
        "brevo_inbound.json",
        lambda b, r, p: basic(MAIL_SECRETS["BREVO_INBOUND_AUTH"]),
    ),
    (
        "/capture/email/mailjet",
        "mailjet_parse.json",
        lambda b, r, p: basic(MAIL_SECRETS["MAILJET_INBOUND_AUTH"]),
    ),
    (
        "/capture/email/sparkpost",
        "sparkpost_relay.json",
        lambda b, r, p: {
            sparkpost.TOKEN_HEADER: MAIL_SECRETS["SPARKPOST_WEBHOOK_TOKEN"]
        },
    ),
    (
        "/capture/email/mailersend",
        "mailersend_inbound.json",
        lambda b, r, p: {
            "Signature": _hmac_hex(MAIL_SECRETS["MAILERSEND_INBOUND_SECRET"], b),
            "Content-Type": "application/json",
        },
    ),
    (
        "/capture/email/resend",
        "resend_email_received.json",
        lambda b, r, p: svix_headers(b, at=r.clock.now()),
    ),
]


def _deep(levels: int) -> str:
    """A marker that ``_encode`` writes as ``levels`` nested objects."""
    return f"{DEEP_MARK}{levels}"


def _replacements(rng: random.Random) -> list[Any]:
    return [
        None,
        True,
        -1,
        0,
        1.5,
        math.nan,
        math.inf,
        "",
        "not-an-email",
        "\ud800x",
        "a\x00b",
        "x" * 5000,
        [],
        [1, "two"],
        {},
        {"unexpected": rng.random()},
        _deep(rng.choice([5, 80, 2000])),
    ]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the document a value can be swapped, the root included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _swapped(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    mutated = copy.deepcopy(document)
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return mutated


def _encode(document: Any) -> bytes:
    """JSON as a sender writes it; deep markers become real nesting.

    ``json.dumps`` itself cannot write 2,000 levels, so the nesting is
    spliced into the text.
    """
    text = json.dumps(document)
    for levels in (5, 80, 2000):
        nested = '{"x":[' * levels + '"bottom"' + "]}" * levels
        text = text.replace(json.dumps(_deep(levels)), nested)
    return text.encode()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_app_secrets(settings, **MAIL_SECRETS)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def test_type_mutated_signed_payloads_never_get_a_5xx(
    raw_client: TestClient, runtime: Runtime
) -> None:
    rng = random.Random(SEED)
    failures = []
    posted = 0
    statuses: Counter[int] = Counter()
    for path, name, sign in ROUTES:
        document = fixture_json(name)
        places = _paths(document)
        for _ in range(CASES_PER_ROUTE):
            where = rng.choice(places)
            new = rng.choice(_replacements(rng))
            body = _encode(_swapped(document, where, new))
            response = raw_client.post(
                path, content=body, headers=sign(body, runtime, path)
            )
            posted += 1
            statuses[response.status_code] += 1
            if response.status_code >= 500 or response.status_code in (401, 403):
                failures.append(
                    (path, name, where, repr(new)[:40], response.status_code)
                )
            elif response.status_code >= 400:
                assert response.json()["error"]["message"], (path, where)

    print(f"{posted} posts, answers by status: {dict(statuses)}")
    assert posted >= 250
    # Both outcomes occur, or the mutations did not reach the parsers.
    assert statuses[200] > 0 and statuses[400] > 0
    assert failures == []
    # What was accepted is not lost later: every capture.ingest job runs.
    settle_accepted(runtime)
