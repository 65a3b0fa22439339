"""One-click unsubscribe (RFC 8058) and signed Twilio status callbacks."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from firsttouch.respond.consent import is_opted_out
from firsttouch.respond.first_touch import run_first_touch
from firsttouch.respond.unsubscribe import UnsubscribeTarget, make_token
from firsttouch.runtime import Runtime
from firsttouch.store.models import Touch
from tests.channels.fakes import FakeTwilio, SmtpSink
from tests.respond.conftest import add_lead, wire

STATUS_URL = "http://127.0.0.1:8000/respond/twilio/status"


def _token(runtime: Runtime, address: str = "ann@buyer.example") -> str:
    target = UnsubscribeTarget("email", address, "first_touch:1:email")
    return make_token(runtime.settings.secret_key, target)


def test_a_get_only_asks_and_changes_nothing(runtime: Runtime, client: Any) -> None:
    answer = client.get(f"/u/{_token(runtime)}")
    assert answer.status_code == 200
    assert 'method="post"' in answer.text
    assert "a***@buyer.example" in answer.text
    with runtime.db.sessions() as session:
        assert not is_opted_out(session, "email", "ann@buyer.example")


def test_one_click_post_unsubscribes_and_the_next_email_is_blocked(
    runtime: Runtime, client: Any, sink: SmtpSink, twilio: FakeTwilio
) -> None:
    wire(runtime, sink, twilio)
    answer = client.post(
        f"/u/{_token(runtime)}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    with runtime.db.sessions() as session:
        assert is_opted_out(session, "email", "Ann@Buyer.example")

    inbound_id = add_lead(runtime)
    assert run_first_touch(runtime, inbound_id) == {"email": "blocked"}
    assert sink.received == []


def test_a_forged_link_is_refused(client: Any) -> None:
    answer = client.post("/u/not-a-real-token")
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "token"


def test_the_link_in_a_sent_email_works(
    runtime: Runtime, client: Any, sink: SmtpSink, twilio: FakeTwilio
) -> None:
    wire(runtime, sink, twilio)
    run_first_touch(runtime, add_lead(runtime))
    header = sink.received[0].message["List-Unsubscribe"]
    url = header.split(",")[0].strip("<> ")
    path = url.removeprefix("http://127.0.0.1:8000")
    assert client.post(path, content="List-Unsubscribe=One-Click").status_code == 200
    with runtime.db.sessions() as session:
        assert is_opted_out(session, "email", "ann@buyer.example")


def _signed_post(client: Any, form: dict[str, str], token: str) -> Any:
    signature = RequestValidator(token).compute_signature(STATUS_URL, form)
    return client.post(
        "/respond/twilio/status", data=form, headers={"X-Twilio-Signature": signature}
    )


def test_a_signed_status_callback_updates_the_touch(
    runtime: Runtime, client: Any, sink: SmtpSink, twilio: FakeTwilio
) -> None:
    wire(runtime, sink, twilio)
    inbound_id = add_lead(
        runtime, channel="sms", source="sms", email=None, phone="+12125550100"
    )
    run_first_touch(runtime, inbound_id)
    sid = twilio.messages[0]["sid"]
    form = {
        "MessageSid": sid,
        "MessageStatus": "undelivered",
        "ErrorCode": "30007",
        "AccountSid": twilio.account_sid,
        "To": "+12125550100",
    }

    assert _signed_post(client, form, "test-twilio-token").status_code == 204
    with runtime.db.sessions() as session:
        touch = session.scalar(select(Touch).where(Touch.provider_id == sid))
        assert touch is not None
        assert (touch.status, touch.error_code) == ("undelivered", "30007")


def test_a_badly_signed_status_callback_is_401(client: Any) -> None:
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert _signed_post(client, form, "wrong-token").status_code == 401


def _signed_json_post(client: Any, body: bytes, token: str) -> Any:
    # Twilio signs a JSON body through its hash in the URL, not its fields.
    validator = RequestValidator(token)
    query = f"bodySHA256={validator.compute_hash(body.decode())}"
    signature = validator.compute_signature(f"{STATUS_URL}?{query}", {})
    return client.post(
        f"/respond/twilio/status?{query}",
        content=body,
        headers={"Content-Type": "application/json", "X-Twilio-Signature": signature},
    )


def test_a_status_callback_with_a_json_body_updates_the_touch(
    runtime: Runtime, client: Any, sink: SmtpSink, twilio: FakeTwilio
) -> None:
    wire(runtime, sink, twilio)
    inbound_id = add_lead(
        runtime, channel="sms", source="sms", email=None, phone="+12125550100"
    )
    run_first_touch(runtime, inbound_id)
    sid = twilio.messages[0]["sid"]
    body = json.dumps(
        {"MessageSid": sid, "MessageStatus": "delivered", "ErrorCode": None}
    ).encode()

    forged = _signed_json_post(client, body, "wrong-token")
    genuine = _signed_json_post(client, body, "test-twilio-token")

    assert [forged.status_code, genuine.status_code] == [401, 204]
    with runtime.db.sessions() as session:
        touch = session.scalar(select(Touch).where(Touch.provider_id == sid))
        assert touch is not None
        assert (touch.status, touch.error_code) == ("delivered", None)
