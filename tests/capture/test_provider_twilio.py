"""Twilio SMS and voice webhooks: parsing, the SDK's signature, and storage."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from firsttouch.capture.providers.payloads import FormFields, read_form
from firsttouch.capture.providers.sms_keywords import sms_keyword
from firsttouch.capture.providers.twilio_signature import (
    public_request_url,
    verify_twilio_signature,
)
from firsttouch.capture.providers.twilio_sms import parse_twilio_sms
from firsttouch.capture.providers.twilio_voice import (
    detect_callback,
    parse_twilio_voice,
)
from firsttouch.config import Secret, Settings
from firsttouch.errors import InputError, SignatureError
from firsttouch.runtime import Runtime
from firsttouch.store.models import Job
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


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_provider_secrets(settings)


def signed_post(
    client: TestClient,
    path: str,
    body: bytes,
    base: str = PUBLIC_URL,
    token: str = TWILIO_TOKEN,
):  # type: ignore[no-untyped-def]
    """POST ``body`` signed the way Twilio signs it, by the SDK's own code."""
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    signature = RequestValidator(token).compute_signature(base + path, params)
    return client.post(
        path,
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


def parse_sms(name: str):  # type: ignore[no-untyped-def]
    body = fixture_bytes(name)
    return parse_twilio_sms(body, read_form(body, "Twilio"))


# -- parsing -------------------------------------------------------------------


def test_inbound_sms_becomes_an_sms_lead_keyed_on_message_sid() -> None:
    event = parse_sms("twilio_sms_inbound.form")
    assert (event.channel, event.kind, event.source, event.provider) == (
        "sms",
        "message",
        "sms",
        "twilio",
    )
    assert event.dedupe_key == f"twilio:sms:{SMS_SID}"
    assert event.person.phone == "+15125550147"
    assert "pricing for 300 staff" in (event.body_text or "")
    assert event.raw == fixture_bytes("twilio_sms_inbound.form").decode()
    assert event.creates_lead


def test_mms_keeps_every_media_url_and_type() -> None:
    event = parse_sms("twilio_mms_inbound.form")
    media = event.fields["media"]
    assert [m["content_type"] for m in media] == ["image/jpeg", "application/pdf"]
    assert all(m["url"].startswith("https://api.twilio.com/") for m in media)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", ("STOP", "opt_out")),
        ("stop", ("STOP", "opt_out")),
        (" Stop. ", ("STOP", "opt_out")),
        ("unsubscribe", ("UNSUBSCRIBE", "opt_out")),
        ("STOP ALL", ("STOP ALL", "opt_out")),
        ("Arret", ("ARRET", "opt_out")),
        ("start", ("START", "opt_in")),
        ("UNSTOP", ("UNSTOP", "opt_in")),
        ("help", ("HELP", "help")),
        ("stop please", None),
        ("please stop", None),
        ("Stopwatch", None),
        ("", None),
    ],
)
def test_sms_keywords_match_only_a_whole_single_word(
    body: str, expected: object
) -> None:
    assert sms_keyword(body) == expected


def test_stop_reply_is_marked_opt_out_and_starts_no_lead() -> None:
    event = parse_sms("twilio_sms_stop.form")
    assert event.kind == "opt_out"
    assert event.fields["sms_keyword"] == "stop"
    assert event.fields["consent"] == "opt_out"
    assert event.person.phone == "+15125550147"
    assert not event.creates_lead


def test_status_21610_marks_the_recipient_opted_out() -> None:
    event = parse_sms("twilio_sms_status_21610.form")
    assert event.kind == "opt_out"
    assert event.fields["error_code"] == "21610"
    assert event.fields["consent"] == "opt_out"
    assert event.person.phone == "+15125550188"
    assert not event.creates_lead


def test_each_message_status_is_its_own_event() -> None:
    keys = set()
    for status in ("sent", "delivered", "delivered"):
        body = urlencode({"MessageSid": SMS_SID, "MessageStatus": status}).encode()
        keys.add(parse_twilio_sms(body, read_form(body, "Twilio")).dedupe_key)
    assert keys == {
        f"twilio:sms:{SMS_SID}:status:sent",
        f"twilio:sms:{SMS_SID}:status:delivered",
    }


def test_message_without_sid_is_refused_with_the_field_named() -> None:
    body = b"From=%2B15125550147&Body=hello"
    with pytest.raises(InputError, match="MessageSid"):
        parse_twilio_sms(body, read_form(body, "Twilio"))


def test_voice_callbacks_are_told_apart_by_their_fields() -> None:
    for name, expected in [
        ("twilio_voice_incoming.form", "incoming"),
        ("twilio_voice_status_no_answer.form", "status"),
        ("twilio_voice_recording.form", "recording"),
        ("twilio_voice_transcription.form", "transcription"),
    ]:
        assert detect_callback(read_form(fixture_bytes(name), "t")) == expected


def test_unanswered_call_is_a_missed_call_lead() -> None:
    body = fixture_bytes("twilio_voice_status_no_answer.form")
    event = parse_twilio_voice(body, read_form(body, "Twilio"), "status")
    assert (event.channel, event.kind) == ("call", "missed_call")
    assert event.dedupe_key == f"twilio:call:{CALL_SID}:status:no-answer"
    assert event.person.phone == "+13125550163"
    assert event.creates_lead


def test_answered_call_status_is_recorded_but_not_a_lead() -> None:
    body = fixture_bytes("twilio_voice_status_no_answer.form").replace(
        b"no-answer", b"completed"
    )
    event = parse_twilio_voice(body, read_form(body, "Twilio"), "status")
    assert event.kind == "status" and not event.creates_lead


# -- signature -----------------------------------------------------------------


def test_signature_uses_the_sdk_validator_with_repeated_fields() -> None:
    pairs = [("CallSid", "CA1"), ("Digits", "5"), ("Digits", "1")]
    url = "https://leads.example/capture/twilio/voice?x=1"
    validator = RequestValidator(TWILIO_TOKEN)
    good = validator.compute_signature(url, FormFields(pairs))
    verify_twilio_signature(Secret(TWILIO_TOKEN), url, FormFields(pairs), good)
    with pytest.raises(SignatureError, match="does not match"):
        verify_twilio_signature(Secret(TWILIO_TOKEN), url, FormFields(pairs[:2]), good)


def test_missing_signature_header_is_refused() -> None:
    with pytest.raises(SignatureError, match="X-Twilio-Signature"):
        verify_twilio_signature(Secret(TWILIO_TOKEN), PUBLIC_URL, FormFields([]), None)


def test_public_url_keeps_path_and_query() -> None:
    assert (
        public_request_url("https://h.example/", "/capture/twilio/sms", "a=1")
        == "https://h.example/capture/twilio/sms?a=1"
    )


# -- the web routes ------------------------------------------------------------


def test_signed_sms_is_stored_with_contact_and_owner_before_2xx(
    client: TestClient, runtime: Runtime
) -> None:
    response = signed_post(
        client, "/capture/twilio/sms", fixture_bytes("twilio_sms_inbound.form")
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    stored = inbound_by_key(runtime, f"twilio:sms:{SMS_SID}")
    assert stored is not None
    assert stored.channel == "sms" and stored.contact_id and stored.owner_id


def test_twilio_retry_of_the_same_message_stores_it_once(
    client: TestClient, runtime: Runtime
) -> None:
    body = fixture_bytes("twilio_sms_inbound.form")
    for _ in range(3):
        assert signed_post(client, "/capture/twilio/sms", body).status_code == 200
    assert len(inbounds(runtime)) == 1


def test_bad_signature_is_401_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    response = signed_post(
        client,
        "/capture/twilio/sms",
        fixture_bytes("twilio_sms_inbound.form"),
        token="wrong",
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_invalid"
    assert inbounds(runtime) == []


def test_signature_is_checked_against_the_public_url_not_the_internal_one(
    client: TestClient, runtime: Runtime
) -> None:
    # Signed for the address the app sees behind the proxy: Twilio never
    # signs that one, so it must not pass.
    response = signed_post(
        client,
        "/capture/twilio/sms",
        fixture_bytes("twilio_sms_inbound.form"),
        base="http://testserver",
    )
    assert response.status_code == 401
    assert inbounds(runtime) == []


def test_stop_reply_is_stored_for_the_consent_gate_without_a_lead(
    client: TestClient, runtime: Runtime
) -> None:
    assert (
        signed_post(
            client, "/capture/twilio/sms", fixture_bytes("twilio_sms_stop.form")
        ).status_code
        == 200
    )
    [stored] = inbounds(runtime)
    assert stored.kind == "opt_out" and stored.fields["sms_keyword"] == "stop"
    assert stored.contact_id is None and stored.sla_state == "not_applicable"


def test_incoming_call_is_stored_and_answered_with_a_voicemail_prompt(
    client: TestClient, runtime: Runtime
) -> None:
    response = signed_post(
        client, "/capture/twilio/voice", fixture_bytes("twilio_voice_incoming.form")
    )
    assert response.status_code == 200
    assert "<Record" in response.text
    assert f"{PUBLIC_URL}/capture/twilio/voice/recording" in response.text
    stored = inbound_by_key(runtime, f"twilio:call:{CALL_SID}")
    assert stored is not None and stored.kind == "call" and stored.owner_id


def test_missed_call_with_voicemail_and_transcript_attached(
    client: TestClient, runtime: Runtime
) -> None:
    for path, name in [
        ("/capture/twilio/voice/status", "twilio_voice_status_no_answer.form"),
        ("/capture/twilio/voice/recording", "twilio_voice_recording.form"),
        ("/capture/twilio/voice/transcription", "twilio_voice_transcription.form"),
        ("/capture/twilio/voice/transcription", "twilio_voice_transcription.form"),
    ]:
        assert signed_post(client, path, fixture_bytes(name)).status_code == 200

    missed, recording, transcription = inbounds(runtime)
    assert missed.kind == "missed_call" and missed.contact_id and missed.owner_id
    assert recording.parent_id == missed.id and transcription.parent_id == missed.id
    assert transcription.contact_id == missed.contact_id
    voicemail = missed.fields["voicemail"]
    assert voicemail["recording_url"].endswith("RE5678efab5678efab5678efab5678efab")
    assert "Lakeside Clinics" in voicemail["transcript"]
    assert "Lakeside Clinics" in (missed.body_text or "")


def test_voicemail_attaches_to_the_incoming_call_when_there_is_one(
    client: TestClient, runtime: Runtime
) -> None:
    signed_post(
        client, "/capture/twilio/voice", fixture_bytes("twilio_voice_incoming.form")
    )
    signed_post(
        client,
        "/capture/twilio/voice/recording",
        fixture_bytes("twilio_voice_recording.form"),
    )
    call, recording = inbounds(runtime)
    assert recording.parent_id == call.id
    assert (
        call.fields["voicemail"]["recording_sid"]
        == "RE5678efab5678efab5678efab5678efab"
    )


def test_unconfigured_twilio_token_answers_503_naming_the_variable(
    client: TestClient, runtime: Runtime
) -> None:
    runtime.settings = runtime.settings.with_overrides(env={})
    response = signed_post(
        client, "/capture/twilio/sms", fixture_bytes("twilio_sms_inbound.form")
    )
    assert response.status_code == 503
    assert "TWILIO_AUTH_TOKEN" in response.json()["error"]["message"]


def test_a_call_then_its_no_answer_status_is_one_missed_call_lead(
    client: TestClient, runtime: Runtime
) -> None:
    for path, name in [
        ("/capture/twilio/voice", "twilio_voice_incoming.form"),
        ("/capture/twilio/voice/status", "twilio_voice_status_no_answer.form"),
        ("/capture/twilio/voice/status", "twilio_voice_status_no_answer.form"),
        ("/capture/twilio/voice/transcription", "twilio_voice_transcription.form"),
    ]:
        assert signed_post(client, path, fixture_bytes(name)).status_code == 200

    call, status, transcription = inbounds(runtime)
    assert call.kind == "missed_call" and call.fields["call_status"] == "no-answer"
    assert status.parent_id == call.id and status.sla_state == "not_applicable"
    assert transcription.parent_id == call.id
    assert "Lakeside Clinics" in call.fields["voicemail"]["transcript"]
    with runtime.db.sessions() as session:
        leads = session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == "respond.first_touch")
        )
    assert leads == 1


def test_an_answered_call_keeps_its_kind_and_gains_its_duration(
    client: TestClient, runtime: Runtime
) -> None:
    signed_post(
        client, "/capture/twilio/voice", fixture_bytes("twilio_voice_incoming.form")
    )
    answered = (
        fixture_bytes("twilio_voice_status_no_answer.form")
        .replace(b"no-answer", b"completed")
        .replace(b"CallDuration=0", b"CallDuration=184")
    )
    signed_post(client, "/capture/twilio/voice/status", answered)
    call, _ = inbounds(runtime)
    assert call.kind == "call" and call.fields["duration_s"] == "184"
