"""Shared pieces of the inbound-mail webhook tests (SES, Brevo, Mailjet,
Mandrill, SparkPost, Resend, MailerSend): their secrets, Basic auth, and
the check that a post became one email lead with a contact and an owner."""

from __future__ import annotations

import base64

from firsttouch.runtime import Runtime
from firsttouch.store.models import Contact, Inbound
from tests.capture.provider_support import inbounds

# 32 key bytes, written the way Svix shows a signing secret.
RESEND_KEY = bytes(range(32))
SES_TOPIC = "arn:aws:sns:eu-west-1:111122223333:northwind-inbound"

MAIL_SECRETS = {
    "BREVO_INBOUND_AUTH": "brevo:brevo-pass-for-tests",
    "MAILJET_INBOUND_AUTH": "parse:mailjet-pass-for-tests",
    "MANDRILL_WEBHOOK_KEY": "mandrill-webhook-key-for-tests",
    "SPARKPOST_WEBHOOK_TOKEN": "sparkpost-relay-token-for-tests",
    "SPARKPOST_INBOUND_AUTH": "relay:sparkpost-pass-for-tests",
    "RESEND_WEBHOOK_SECRET": "whsec_" + base64.b64encode(RESEND_KEY).decode(),
    "MAILERSEND_INBOUND_SECRET": "mailersend-inbound-secret-for-tests",
    "SES_SNS_TOPIC_ARNS": SES_TOPIC,
}


def basic(value: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header for ``user:password``."""
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}


def the_email_lead(runtime: Runtime, provider: str) -> tuple[Inbound, Contact]:
    """The one stored inbound: an email lead with its contact and owner."""
    [stored] = inbounds(runtime)
    assert (stored.channel, stored.provider) == ("email", provider)
    assert stored.contact_id is not None and stored.owner_id is not None
    with runtime.db.sessions() as session:
        contact = session.get(Contact, stored.contact_id)
    assert contact is not None
    return stored, contact
