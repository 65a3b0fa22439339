"""CPU per inbound-mail webhook: signature check plus parse, per provider.

For each email provider, one post of the test fixtures (tests/capture/
fixtures) is checked and parsed ``FIRSTTOUCH_BENCH_MAIL`` times (400) in
this process, as the route does before storing: the SNS RSA signature
against a pinned certificate for Amazon SES, Svix for Resend, the HMACs of
Mandrill and MailerSend; Brevo, Mailjet and SparkPost only parse (their
check is Basic auth or a token compare). The figure is process CPU time
per post, so the other helpers sharing the 2 cores do not move it much.
Postmark's parser, already in the tree, is printed as the peer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from firsttouch.capture.providers import (
    amazon_ses,
    brevo,
    mailersend,
    mailjet,
    mandrill,
    postmark,
    resend,
    sns,
    sparkpost,
)
from firsttouch.capture.providers.payloads import read_form
from firsttouch.capture.providers.svix import verify_svix_signature
from firsttouch.config import Secret

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "capture" / "fixtures"
RUNS = int(os.environ.get("FIRSTTOUCH_BENCH_MAIL", "400"))
NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
TOPIC = "arn:aws:sns:eu-west-1:111122223333:bench"
# Throwaway keys for this run only.
KEY = "bench-key"
SVIX_KEY = bytes(range(32))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def cpu_us(work: Callable[[], object]) -> float:
    work()  # imports and caches out of the timing
    started = time.process_time()
    for _ in range(RUNS):
        work()
    return (time.process_time() - started) / RUNS * 1e6


def ses_work() -> Callable[[], object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    pem = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    message = {
        "Type": "Notification",
        "MessageId": "bench-1",
        "TopicArn": TOPIC,
        "Message": fixture("ses_received.json").decode(),
        "Timestamp": "2026-03-10T13:48:01.650Z",
        "SignatureVersion": "2",
    }
    text = "".join(
        f"{n}\n{message[n]}\n"
        for n in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
    )
    signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    message["Signature"] = base64.b64encode(signature).decode()
    body = json.dumps(message).encode()
    trust = sns.SnsTrust(topics=frozenset({TOPIC}), pinned_pem=pem)

    def work() -> object:
        parsed = sns.read_sns_message(body, "Notification")
        sns.verify_sns_message(parsed, trust, NOW)
        ses = amazon_ses.ses_notification(parsed)
        assert ses is not None
        return amazon_ses.parse_ses_received(ses, body.decode())

    return work


def resend_work() -> Callable[[], object]:
    body = fixture("resend_email_received.json")
    content = json.loads(fixture("resend_received_email.json"))
    stamp = str(int(NOW.timestamp()))
    mac = hmac.new(SVIX_KEY, f"m1.{stamp}.".encode() + body, hashlib.sha256)
    headers = {
        "svix-id": "m1",
        "svix-timestamp": stamp,
        "svix-signature": "v1," + base64.b64encode(mac.digest()).decode(),
    }

    def work() -> object:
        verify_svix_signature(headers, body, SVIX_KEY, NOW, "Resend")
        return resend.parse_resend(body, content)

    return work


def mandrill_work() -> Callable[[], object]:
    value = fixture("mandrill_inbound.json").decode()
    body = urlencode({"mandrill_events": value}).encode()
    url = "https://bench.example/capture/email/mandrill"
    signed = (url + "mandrill_events" + value).encode()
    header = base64.b64encode(
        hmac.new(KEY.encode(), signed, hashlib.sha1).digest()
    ).decode()

    def work() -> object:
        form = read_form(body, "Mandrill")
        mandrill.verify_mandrill_signature(header, url, form, Secret(KEY))
        return mandrill.parse_mandrill(form)

    return work


def mailersend_work() -> Callable[[], object]:
    body = fixture("mailersend_inbound.json")
    header = hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()

    def work() -> object:
        mailersend.verify_mailersend_signature(header, body, Secret(KEY))
        return mailersend.parse_mailersend(body)

    return work


fixture_body = {
    "brevo": fixture("brevo_inbound.json"),
    "mailjet": fixture("mailjet_parse.json"),
    "sparkpost": fixture("sparkpost_relay.json"),
    "postmark": fixture("postmark_inbound.json"),
}


def main() -> int:
    cases: dict[str, Callable[[], object]] = {
        "amazon_ses": ses_work(),
        "brevo": lambda: brevo.parse_brevo(fixture_body["brevo"]),
        "mailjet": lambda: mailjet.parse_mailjet(fixture_body["mailjet"]),
        "mandrill": mandrill_work(),
        "sparkpost": lambda: sparkpost.parse_sparkpost(fixture_body["sparkpost"]),
        "resend": resend_work(),
        "mailersend": mailersend_work(),
    }
    peer = cpu_us(lambda: postmark.parse_postmark(fixture_body["postmark"]))
    for provider, work in cases.items():
        value = cpu_us(work)
        print(
            f"bench: mail_webhook_cpu_{provider} value={value:.0f} "
            f"unit=us_cpu_per_post target=<2000 peer=postmark peer_value={peer:.0f} "
            f"ratio={value / peer:.2f} runs={RUNS}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
