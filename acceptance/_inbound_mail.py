"""Corpus parsers of the inbound-mail providers added after Mailgun, SendGrid
and Postmark: Amazon SES, Brevo, Mailjet, Mandrill, SparkPost, Resend and
MailerSend. ``capture_webhooks`` merges them into its ``PARSERS``.

The corpus keeps these payloads as django-anymail's tests post them, some
as the inner object only (SES's ``mail``, one Brevo item, one Mandrill
event, one SparkPost ``relay_message``, MailerSend's ``from``). Each is put
back into its provider's documented envelope and handed to the same
parser the webhook route uses; the envelope adds no fact of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers import (
    amazon_ses,
    brevo,
    mailersend,
    mailjet,
    mandrill,
    resend,
    sparkpost,
)
from firsttouch.capture.providers.mail_event import Batch
from firsttouch.capture.providers.payloads import FormFields
from firsttouch.errors import InputError


def _payload(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    payload = data.get("payload", data)
    if not isinstance(payload, dict):
        raise TypeError(f"{path.name}: the payload is not a JSON object")
    return payload


def _encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


def _all_read(batch: Batch) -> list[InboundEvent]:
    """The events of a batch; an item the adapter refused is a rejection."""
    if batch.rejected:
        raise InputError("; ".join(batch.rejected))
    return batch.events


def _amazon_ses(path: Path) -> list[InboundEvent]:
    payload = _payload(path)
    ses = (
        payload
        if "notificationType" in payload
        else {
            "notificationType": amazon_ses.RECEIVED,
            "mail": payload,
        }
    )
    return [amazon_ses.parse_ses_received(ses, path.read_text())]


def _brevo(path: Path) -> list[InboundEvent]:
    payload = _payload(path)
    body = payload if "items" in payload else {"items": [payload]}
    return _all_read(brevo.parse_brevo(_encoded(body)))


def _mandrill(path: Path) -> list[InboundEvent]:
    payload = _payload(path)
    events = payload if isinstance(payload, list) else [payload]
    form = FormFields([("mandrill_events", json.dumps(events))])
    batch, _others = mandrill.parse_mandrill(form)
    return _all_read(batch)


def _sparkpost(path: Path) -> list[InboundEvent]:
    payload = _payload(path)
    batch = [{"msys": {"relay_message": payload}}] if "content" in payload else payload
    return _all_read(sparkpost.parse_sparkpost(_encoded(batch)))


def _resend(path: Path) -> list[InboundEvent]:
    event = resend.parse_resend(_encoded(_payload(path)))
    if event is None:
        raise ValueError(f"{path.name}: not an email.received event")
    return [event]


def _mailersend(path: Path) -> list[InboundEvent]:
    payload = _payload(path)
    if "type" not in payload:
        # Only the sender object: the ``from`` of an inbound message.
        payload = {"type": mailersend.INBOUND_TYPE, "data": {"from": payload}}
    event = mailersend.parse_mailersend(_encoded(payload))
    if event is None:
        raise ValueError(f"{path.name}: not an inbound.message event")
    return [event]


MAIL_PARSERS: dict[str, Callable[[Path], list[InboundEvent]]] = {
    "amazon_ses": _amazon_ses,
    "brevo": _brevo,
    "mailjet": lambda p: [mailjet.parse_mailjet(_encoded(_payload(p)))],
    "mandrill": _mandrill,
    "sparkpost": _sparkpost,
    "resend": _resend,
    "mailersend": _mailersend,
}
MAIL_CHANNELS = {provider: {"email"} for provider in MAIL_PARSERS}
