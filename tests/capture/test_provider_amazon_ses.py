"""Amazon SES receiving through SNS: signed notifications, the subscription
handshake, certificates from a loopback server or pinned."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from firsttouch.capture.providers import sns
from firsttouch.capture.providers.amazon_ses import parse_ses_received
from firsttouch.capture.providers.config import ProviderNotConfiguredError
from firsttouch.config import Settings
from firsttouch.errors import ConfigError, SignatureError
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from tests.capture.mail_api_server import MailApiFake, mail_api_server
from tests.capture.mail_webhook_support import MAIL_SECRETS, SES_TOPIC, the_email_lead
from tests.capture.provider_support import (
    fixture_json,
    inbounds,
    with_provider_secrets,
)
from tests.conftest import T0

URL = "/capture/email/amazon-ses"
CERT_PATH = "/SimpleNotificationService-loopback.pem"


class Signer:
    """A key and self-signed certificate standing in for SNS's."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.loopback")])
        self.pem = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(7)
            .not_valid_before(T0 - timedelta(days=1))
            .not_valid_after(T0 + timedelta(days=365))
            .sign(self.key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
        )

    def sign(self, message: dict[str, Any], version: str = "2") -> dict[str, Any]:
        """Sign as SNS does: name and value lines of the fixed fields."""
        if message["Type"] == "Notification":
            names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        else:
            names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token"]
            names += ["TopicArn", "Type"]
        text = "".join(f"{n}\n{message[n]}\n" for n in names if n in message)
        # SignatureVersion 1 is SHA-1: SNS still signs with it unless told not to.
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303
        signature = self.key.sign(text.encode(), padding.PKCS1v15(), digest)
        return {
            **message,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
        }


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


@pytest.fixture
def sns_endpoint(signer: Signer) -> Iterator[MailApiFake]:
    sns.forget_certificates()
    with mail_api_server() as fake:
        fake.answer(CERT_PATH, signer.pem)
        fake.answer("/", b"<ConfirmSubscriptionResponse/>")
        yield fake
    sns.forget_certificates()


@pytest.fixture
def settings(settings: Settings, sns_endpoint: MailApiFake) -> Settings:
    return with_provider_secrets(
        settings, **MAIL_SECRETS, SES_SNS_URLS=sns_endpoint.base_url + "/"
    )


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def notification(
    endpoint: MailApiFake, ses: dict[str, Any], topic: str = SES_TOPIC
) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "5d1f0a0e-7c3b-5e2a-9d41-0b6f3c2e8a17",
        "TopicArn": topic,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": json.dumps(ses),
        "Timestamp": "2026-03-10T13:48:01.650Z",
        "SigningCertURL": endpoint.base_url + CERT_PATH,
        "UnsubscribeURL": endpoint.base_url + "/?Action=Unsubscribe",
    }


def post(client: TestClient, message: dict[str, Any]) -> Any:
    return client.post(
        URL,
        content=json.dumps(message).encode(),
        headers={
            "x-amz-sns-message-type": message["Type"],
            "x-amz-sns-topic-arn": message["TopicArn"],
            "Content-Type": "text/plain; charset=UTF-8",
        },
    )


# -- the SES document ----------------------------------------------------------


def test_ses_received_notification_becomes_an_email_lead() -> None:
    event = parse_ses_received(fixture_json("ses_received.json"), "{}")
    assert (event.channel, event.provider) == ("email", "amazon_ses")
    assert event.dedupe_key.startswith("email:kmt-3302@kitanomori-trading.example:")
    assert event.person.email == "aiko@kitanomori-trading.example"
    assert event.person.full_name == "北森 愛子"
    assert "Osaka office (25 people)" in (event.body_text or "")
    assert event.fields["verdicts"]["spam"] == "PASS"
    assert event.fields["envelope_sender"] == "aiko@kitanomori-trading.example"


def test_ses_base64_content_is_decoded() -> None:
    ses = fixture_json("ses_received.json")
    ses["content"] = base64.b64encode(ses["content"].encode()).decode()
    ses["receipt"]["action"]["encoding"] = "BASE64"
    event = parse_ses_received(ses, "{}")
    assert "Osaka office" in (event.body_text or "")


def test_ses_mail_kept_in_s3_is_a_lead_from_its_headers_with_the_reason() -> None:
    ses = fixture_json("ses_received.json")
    del ses["content"]
    ses["receipt"]["action"] = {
        "type": "S3",
        "bucketName": "northwind-inbound",
        "objectKey": "mail/o3vrnil0e2ic",
    }
    event = parse_ses_received(ses, "{}")
    assert event.person.email == "aiko@kitanomori-trading.example"
    assert event.subject == "Invoice approvals for our Osaka office"
    missing = event.fields["body_missing"]
    assert (missing["bucket"], missing["key"]) == (
        "northwind-inbound",
        "mail/o3vrnil0e2ic",
    )


# -- trust settings and the signature --------------------------------------------


def test_sns_trust_needs_a_topic_and_a_way_to_get_certificates(
    settings: Settings,
) -> None:
    bare = settings.with_overrides(env={})
    with pytest.raises(ProviderNotConfiguredError, match="SES_SNS_TOPIC_ARNS"):
        sns.sns_trust(bare)
    topic_only = settings.with_overrides(env={"SES_SNS_TOPIC_ARNS": SES_TOPIC})
    with pytest.raises(ProviderNotConfiguredError, match="SES_SNS_URLS"):
        sns.sns_trust(topic_only)
    for prefix in ("http://sns.us-east-1.amazonaws.com/", "https://sns.example"):
        plain = {"SES_SNS_TOPIC_ARNS": SES_TOPIC, "SES_SNS_URLS": prefix}
        with pytest.raises(ConfigError, match="https:// URL ending in /"):
            sns.sns_trust(settings.with_overrides(env=plain))


def test_sns_url_allow_list_matches_scheme_host_and_path() -> None:
    trust = sns.SnsTrust(
        topics=frozenset({SES_TOPIC}),
        url_prefixes=("https://sns.eu-west-1.amazonaws.com/",),
    )
    assert trust.allows_url("https://sns.eu-west-1.amazonaws.com/cert.pem")
    assert not trust.allows_url("https://sns.eu-west-1.amazonaws.com.evil.example/x")
    assert not trust.allows_url("http://sns.eu-west-1.amazonaws.com/cert.pem")
    assert not trust.allows_url("https://evil.example/sns.eu-west-1.amazonaws.com/")


def test_pinned_certificate_verifies_without_fetching(
    signer: Signer, settings: Settings, tmp_path: Path
) -> None:
    pem = tmp_path / "sns.pem"
    pem.write_bytes(signer.pem)
    env = {"SES_SNS_TOPIC_ARNS": SES_TOPIC, "SES_SNS_CERTIFICATE": str(pem)}
    trust = sns.sns_trust(settings.with_overrides(env=env))
    # The URL names no server at all: a fetch would fail.
    message = {
        **notification(MailApiFake(base_url="https://nowhere.invalid"), {"a": 1}),
    }
    sns.verify_sns_message(signer.sign(message, "1"), trust, T0)
    tampered = {**signer.sign(message), "Message": '{"a": 2}'}
    with pytest.raises(SignatureError, match="does not match"):
        sns.verify_sns_message(tampered, trust, T0)
    with pytest.raises(SignatureError, match="validity dates"):
        sns.verify_sns_message(signer.sign(message), trust, T0 + timedelta(days=400))


# -- the web route -------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_ses_notification_is_stored_once_as_a_lead_with_contact_and_owner(
    client: TestClient,
    runtime: Runtime,
    signer: Signer,
    sns_endpoint: MailApiFake,
    version: str,
) -> None:
    message = signer.sign(
        notification(sns_endpoint, fixture_json("ses_received.json")), version
    )
    responses = [post(client, message) for _ in range(2)]

    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].json()["duplicates"] == 1
    _stored, contact = the_email_lead(runtime, "amazon_ses")
    assert contact.email == "aiko@kitanomori-trading.example"
    assert sns_endpoint.asked(CERT_PATH) == 1  # kept for the retry


@pytest.mark.parametrize("problem", ["tampered", "foreign topic", "foreign cert url"])
def test_ses_notification_that_fails_the_checks_is_401_and_stores_nothing(
    client: TestClient,
    runtime: Runtime,
    signer: Signer,
    sns_endpoint: MailApiFake,
    problem: str,
) -> None:
    ses = fixture_json("ses_received.json")
    message = notification(sns_endpoint, ses)
    if problem == "foreign topic":
        message = notification(sns_endpoint, ses, topic=SES_TOPIC + "-other")
    if problem == "foreign cert url":
        message["SigningCertURL"] = "http://127.0.0.2:9/cert.pem"
    signed = signer.sign(message)
    if problem == "tampered":
        ses["content"] = ses["content"].replace("25 people", "2500 people")
        signed["Message"] = json.dumps(ses)

    response = post(client, signed)
    assert response.status_code == 401
    assert inbounds(runtime) == []
    if problem != "tampered":
        assert sns_endpoint.requests == []  # refused before fetching anything


def test_sns_subscription_is_confirmed_after_its_signature_is_checked(
    client: TestClient, signer: Signer, sns_endpoint: MailApiFake
) -> None:
    subscribe = "/?Action=ConfirmSubscription&TopicArn=northwind&Token=2336412f37"
    message = signer.sign(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37",
            "TopicArn": SES_TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": sns_endpoint.base_url + subscribe,
            "Timestamp": "2026-03-10T13:40:00.000Z",
            "SigningCertURL": sns_endpoint.base_url + CERT_PATH,
        }
    )
    response = post(client, message)
    assert response.status_code == 200 and response.json()["confirmed"] is True
    assert sns_endpoint.asked(subscribe) == 1

    foreign = signer.sign({**message, "TopicArn": "arn:aws:sns:eu-west-1:9:theirs"})
    assert post(client, foreign).status_code == 401
    assert sns_endpoint.asked(subscribe) == 1


@pytest.mark.parametrize(
    "ses",
    [
        {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent"}},
        "Successfully validated SNS topic for Amazon SES event publishing.",
    ],
    ids=["a bounce", "the topic check"],
)
def test_ses_notifications_that_are_not_mail_are_acknowledged_not_stored(
    client: TestClient,
    runtime: Runtime,
    signer: Signer,
    sns_endpoint: MailApiFake,
    ses: Any,
) -> None:
    message = notification(sns_endpoint, {})
    message["Message"] = ses if isinstance(ses, str) else json.dumps(ses)
    response = post(client, signer.sign(message))
    assert response.status_code == 200 and response.json()["ignored"]
    assert inbounds(runtime) == []


def test_unreadable_sns_posts_are_400_with_the_reason(
    client: TestClient, runtime: Runtime, signer: Signer, sns_endpoint: MailApiFake
) -> None:
    not_json = client.post(URL, content=b"{oops")
    assert not_json.status_code == 400
    assert "not valid JSON" in not_json.json()["error"]["message"]

    message = signer.sign(notification(sns_endpoint, {}))
    mismatch = client.post(
        URL,
        content=json.dumps(message).encode(),
        headers={"x-amz-sns-message-type": "SubscriptionConfirmation"},
    )
    assert mismatch.status_code == 400
    assert "does not match" in mismatch.json()["error"]["message"]

    message["Message"] = "<not the JSON of a receipt>"
    garbled = post(client, signer.sign(message))
    assert garbled.status_code == 400
    assert "not the JSON of an SES notification" in garbled.json()["error"]["message"]
    assert inbounds(runtime) == []


@pytest.mark.parametrize(("status", "answer"), [(503, 503), (404, 401)])
def test_certificate_server_trouble_is_retried_or_refused(
    client: TestClient,
    runtime: Runtime,
    signer: Signer,
    sns_endpoint: MailApiFake,
    status: int,
    answer: int,
) -> None:
    sns_endpoint.answer(CERT_PATH, b"busy", status=status)
    message = signer.sign(notification(sns_endpoint, fixture_json("ses_received.json")))
    response = post(client, message)
    assert response.status_code == answer
    assert inbounds(runtime) == []
    if answer == 503:
        assert response.headers["Retry-After"] == "60"
