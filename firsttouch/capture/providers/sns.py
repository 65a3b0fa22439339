"""Amazon SNS deliveries over HTTP(S): trust, signature and subscription.

SNS posts a JSON document whose ``Type`` (also in the
``x-amz-sns-message-type`` header) is ``Notification``,
``SubscriptionConfirmation`` or ``UnsubscribeConfirmation``. Each is signed:
``Signature`` is base64 RSA (PKCS#1 v1.5) over set fields written as
``name\\nvalue\\n`` in a fixed order, with SHA-1 (``SignatureVersion`` 1) or
SHA-256 (2), by the certificate at ``SigningCertURL``
(https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html).

A valid signature only proves the message came from SNS, and anyone can
point their own topic at our URL, so the topic must also be one the
workspace named (``SES_SNS_TOPIC_ARNS``). The certificate is either pinned
(``SES_SNS_CERTIFICATE``, a PEM file; nothing is fetched) or fetched from a
URL under one of the prefixes in ``SES_SNS_URLS`` (for example
``https://sns.us-east-1.amazonaws.com/``), which also bounds the
``SubscribeURL`` a confirmation may make us call. There is no default
prefix: nothing is fetched from a host the operator did not name.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from firsttouch.capture.providers.config import ProviderNotConfiguredError
from firsttouch.capture.providers.payloads import read_json
from firsttouch.config import Settings
from firsttouch.errors import ConfigError, FirsttouchError, InputError, SignatureError

TYPE_HEADER = "x-amz-sns-message-type"
TOPIC_HEADER = "x-amz-sns-topic-arn"
TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
# The fields each kind of message signs, in the order SNS writes them.
SIGNED_FIELDS = {
    "Notification": (
        "Message",
        "MessageId",
        "Subject",
        "Timestamp",
        "TopicArn",
        "Type",
    ),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]
# Version 1 (SHA-1) is what SNS uses unless a topic is set to version 2.
DIGESTS = {"1": hashes.SHA1, "2": hashes.SHA256}
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_CACHE_LIMIT = 16


class SnsError(FirsttouchError):
    """An SNS endpoint could not be reached; ``retryable`` says if later may work."""

    code = "sns_unreachable"
    status = 503

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class SnsTrust:
    """What this workspace trusts: its topics and where certificates come from."""

    topics: frozenset[str]
    url_prefixes: tuple[str, ...] = ()
    pinned_pem: bytes | None = None

    def allows_url(self, url: str) -> bool:
        """True when ``url`` lies under one of the configured prefixes."""
        target = urlsplit(url)
        for prefix in self.url_prefixes:
            allowed = urlsplit(prefix)
            if (
                target.scheme == allowed.scheme
                and target.netloc.lower() == allowed.netloc.lower()
                and target.path.startswith(allowed.path)
            ):
                return True
        return False


def _prefix(value: str) -> str:
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    secure = parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK)
    if not secure or not host or not parts.path.endswith("/") or parts.query:
        raise ConfigError(
            f"SES_SNS_URLS entry {value!r} must be an https:// URL ending in / "
            "(http:// only for a loopback test server)"
        )
    return value


def sns_trust(settings: Settings) -> SnsTrust:
    """Read the SES_SNS_* settings; 503 naming what to set when missing."""
    topics = frozenset(
        t.strip()
        for t in settings.env.get("SES_SNS_TOPIC_ARNS", "").split(",")
        if t.strip()
    )
    if not topics:
        raise ProviderNotConfiguredError(
            "Amazon SES webhooks are not configured: set SES_SNS_TOPIC_ARNS to the "
            "SNS topic(s) your receipt rule publishes to, and restart firsttouch"
        )
    prefixes = tuple(
        _prefix(p.strip())
        for p in settings.env.get("SES_SNS_URLS", "").split(",")
        if p.strip()
    )
    pinned = settings.env.get("SES_SNS_CERTIFICATE")
    pem = None
    if pinned:
        try:
            pem = Path(pinned).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"SES_SNS_CERTIFICATE {pinned!r} cannot be read: {exc.strerror}"
            ) from exc
    if pem is None and not prefixes:
        raise ProviderNotConfiguredError(
            "Amazon SES webhooks need a way to check SNS signatures: set "
            "SES_SNS_URLS (e.g. https://sns.us-east-1.amazonaws.com/) or "
            "SES_SNS_CERTIFICATE (a PEM file), and restart firsttouch"
        )
    return SnsTrust(topics=topics, url_prefixes=prefixes, pinned_pem=pem)


def read_sns_message(body: bytes, header_type: str | None) -> dict[str, Any]:
    """The SNS JSON document, its ``Type`` checked against the header."""
    message = read_json(body, "SNS")
    if not isinstance(message, dict):
        raise InputError("SNS body must be a JSON object")
    kind = message.get("Type")
    if kind not in TYPES:
        raise InputError(f"SNS message Type {kind!r} is not one of {', '.join(TYPES)}")
    if header_type is not None and header_type != kind:
        raise InputError(
            f"SNS header {TYPE_HEADER} ({header_type!r}) does not match the body's "
            f"Type ({kind!r})"
        )
    return message


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The text SNS signed for this message."""
    lines = []
    for name in SIGNED_FIELDS[str(message["Type"])]:
        value = message.get(name)
        if value is None:
            if name == "Subject":
                continue  # signed only when the notification has one
            raise SignatureError(f"SNS message without {name}; it cannot be verified")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode()


def verify_sns_message(message: dict[str, Any], trust: SnsTrust, now: datetime) -> None:
    """Check the topic and the signature; raise ``SignatureError`` (401) if wrong."""
    topic = message.get("TopicArn")
    if topic not in trust.topics:
        raise SignatureError(
            f"SNS topic {topic!r} is not in SES_SNS_TOPIC_ARNS; refused, nothing "
            "stored (add the topic there if it is yours)"
        )
    digest = DIGESTS.get(str(message.get("SignatureVersion")))
    if digest is None:
        raise SignatureError(
            f"SNS SignatureVersion {message.get('SignatureVersion')!r} is not 1 or 2"
        )
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("SNS Signature is not base64") from exc

    certificate = _certificate(message, trust)
    if not (certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc):
        raise SignatureError("SNS signing certificate is outside its validity dates")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("SNS signing certificate does not hold an RSA key")
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), digest())
    except InvalidSignature as exc:
        raise SignatureError(
            "SNS Signature does not match the message; refused, nothing stored"
        ) from exc


# -- certificates ------------------------------------------------------------

_certificates: dict[str, x509.Certificate] = {}
_lock = threading.Lock()


def forget_certificates() -> None:
    """Drop the fetched certificates (they are kept per URL for the process)."""
    with _lock:
        _certificates.clear()


def _certificate(message: dict[str, Any], trust: SnsTrust) -> x509.Certificate:
    if trust.pinned_pem is not None:
        return _load(trust.pinned_pem, "SES_SNS_CERTIFICATE")
    url = str(message.get("SigningCertURL") or "")
    if not trust.allows_url(url):
        raise SignatureError(
            "SNS SigningCertURL is not under SES_SNS_URLS; refused without fetching it"
        )
    with _lock:
        cached = _certificates.get(url)
    if cached is not None:
        return cached
    certificate = _load(_fetch(url, "signing certificate").content, "SigningCertURL")
    with _lock:
        if len(_certificates) >= _CACHE_LIMIT:
            _certificates.clear()
        _certificates[url] = certificate
    return certificate


def _load(pem: bytes, where: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise SignatureError(
            f"SNS certificate from {where} is not a PEM certificate"
        ) from exc


def _fetch(url: str, what: str) -> httpx.Response:
    try:
        response = httpx.get(url, timeout=10.0, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise SnsError(
            f"SNS {what} could not be fetched: {type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        raise SnsError(
            f"SNS answered {response.status_code} for the {what}",
            retryable=response.status_code >= 500 or response.status_code == 429,
        )
    return response


def confirm_subscription(message: dict[str, Any], trust: SnsTrust) -> None:
    """Visit ``SubscribeURL`` so SNS starts delivering to us.

    Called only after the topic and signature were checked. The URL must
    lie under ``SES_SNS_URLS`` like the certificates do.
    """
    url = str(message.get("SubscribeURL") or "")
    if not trust.url_prefixes:
        raise ProviderNotConfiguredError(
            "an SNS subscription cannot be confirmed without SES_SNS_URLS (the "
            "SNS endpoint of your region); set it, or confirm the subscription "
            "in the AWS console"
        )
    if not trust.allows_url(url):
        raise InputError(
            "SNS SubscribeURL is not under SES_SNS_URLS; not visited", "SubscribeURL"
        )
    _fetch(url, "subscription confirmation")
