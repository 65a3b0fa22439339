"""The Twilio SMS client against a loopback server speaking the Messages API."""

from __future__ import annotations

import pytest

from firsttouch.channels.messages import SmsMessage
from firsttouch.channels.twilio import TwilioClient, TwilioSms
from firsttouch.config import Secret
from firsttouch.errors import DeliveryError
from tests.channels.fakes import FakeTwilio

SID = "AC" + "1" * 32


def _sms(
    fake: FakeTwilio,
    token: str = "tok",  # noqa: S107 - the fake server's own token
    **kwargs: object,
) -> TwilioSms:
    client = TwilioClient(fake.base_url, SID, Secret(token), retries=2)
    return TwilioSms(
        client, from_numbers=["+14155550199"], segments_per_second=1000.0, **kwargs
    )  # type: ignore[arg-type]


def _message(body: str = "Hi Ann, it's Maya.") -> SmsMessage:
    return SmsMessage(
        to="+12125550100",
        body=body,
        key="first_touch:1:sms",
        status_callback="http://127.0.0.1:8000/respond/twilio/status",
    )


def test_a_text_is_created_with_sender_and_status_callback() -> None:
    with FakeTwilio(SID, "tok") as fake:
        result = _sms(fake).send(_message())
    [sent] = fake.messages
    assert result["sid"] == sent["sid"] and result["status"] == "queued"
    assert sent["from"] == "+14155550199"
    assert sent["status_callback"].endswith("/respond/twilio/status")
    assert result["segments"] == 1


def test_a_429_is_retried_after_retry_after() -> None:
    with FakeTwilio(SID, "tok") as fake:
        fake.scripted.append(
            (
                429,
                {"code": 20429, "message": "Too Many Requests", "status": 429},
                {"Retry-After": "0"},
            )
        )
        result = _sms(fake).send(_message())
    assert result["sid"].startswith("SM")
    assert len(fake.messages) == 1


def test_429_until_retries_run_out_is_worth_retrying_later() -> None:
    with FakeTwilio(SID, "tok") as fake:
        for _ in range(3):
            fake.scripted.append(
                (
                    429,
                    {"code": 20429, "message": "Too Many Requests", "status": 429},
                    {"Retry-After": "0"},
                )
            )
        with pytest.raises(DeliveryError) as caught:
            _sms(fake).send(_message())
    assert not caught.value.permanent
    assert caught.value.provider_code == "20429"


def test_an_unsubscribed_recipient_is_a_permanent_21610() -> None:
    with FakeTwilio(SID, "tok") as fake:
        fake.scripted.append(
            (
                400,
                {
                    "code": 21610,
                    "message": "Attempt to send to unsubscribed recipient",
                    "status": 400,
                },
                {},
            )
        )
        with pytest.raises(DeliveryError) as caught:
            _sms(fake).send(_message())
    assert caught.value.permanent and caught.value.provider_code == "21610"


def test_a_bad_token_is_a_permanent_20003() -> None:
    with FakeTwilio(SID, "tok") as fake, pytest.raises(DeliveryError) as caught:
        _sms(fake, token="wrong").send(_message())
    assert caught.value.permanent and caught.value.provider_code == "20003"


def test_a_server_error_is_retried_and_then_worth_retrying_later() -> None:
    with FakeTwilio(SID, "tok") as fake:
        for _ in range(3):
            fake.scripted.append(
                (
                    503,
                    {"code": 20503, "message": "Unavailable", "status": 503},
                    {"Retry-After": "0"},
                )
            )
        with pytest.raises(DeliveryError) as caught:
            _sms(fake).send(_message())
    assert not caught.value.permanent


def test_lookup_finds_an_earlier_send_of_the_same_text() -> None:
    with FakeTwilio(SID, "tok") as fake:
        sms = _sms(fake)
        assert sms.lookup(_message()) is None
        first = sms.send(_message())
        found = sms.lookup(_message())
        assert sms.lookup(_message("another text")) is None
    assert found is not None and found["sid"] == first["sid"]


def test_a_unicode_text_counts_ucs2_segments() -> None:
    with FakeTwilio(SID, "tok") as fake:
        result = _sms(fake).send(_message("Hi Łukasz! " + "ż" * 70))
    assert result["segments"] == 2


def test_a_messaging_service_sends_without_a_from_number() -> None:
    with FakeTwilio(SID, "tok") as fake:
        client = TwilioClient(fake.base_url, SID, Secret("tok"))
        TwilioSms(client, from_numbers=[], messaging_service_sid="MG" + "2" * 32).send(
            _message()
        )
    assert fake.messages[0]["messaging_service_sid"].startswith("MG")
    assert fake.messages[0]["from"] is None
