"""Where each provider adapter finds its secrets and endpoints.

Secrets are named environment variables read through ``Settings.env`` (the
same ``${NAME}`` convention the workspace uses), never literals in code:

================================  ============================================
``TWILIO_AUTH_TOKEN``             Twilio signature (or the workspace's
                                  ``channels.twilio.auth_token`` reference)
``META_APP_SECRET``               Meta ``X-Hub-Signature-256`` and
                                  ``appsecret_proof``
``META_VERIFY_TOKEN``             Meta's GET ``hub.verify_token`` challenge
``META_PAGE_ACCESS_TOKEN``        Graph API lead retrieval
``META_GRAPH_URL``                Graph base URL (not a secret)
``LINKEDIN_CLIENT_SECRET``        LinkedIn ``X-LI-Signature`` and challenge
``LINKEDIN_ACCESS_TOKEN``         Lead Sync API reads (answers of a lead)
``LINKEDIN_API_URL``              Lead Sync base URL (not a secret)
``META_LEAD_FORMS``               lead forms to poll (``capture.polling``)
``META_PAGE_ACCESS_TOKEN_<PAGE>`` one Page's token, when forms span Pages
``LINKEDIN_AD_ACCOUNTS``          ad accounts to poll (``capture.polling``)
``LEAD_ADS_POLL_SECONDS``         how often each of them is polled
``CALENDLY_WEBHOOK_SIGNING_KEY``  Calendly ``Calendly-Webhook-Signature``
``CALCOM_WEBHOOK_SECRET``         Cal.com ``X-Cal-Signature-256``
``INTERCOM_CLIENT_SECRET``        Intercom ``X-Hub-Signature``
``GENERIC_CHAT_SECRET``           the generic chat webhook's signature
``MAILGUN_WEBHOOK_SIGNING_KEY``   Mailgun's timestamp+token HMAC
``SENDGRID_INBOUND_AUTH``         ``user:password`` of SendGrid's Basic auth
``POSTMARK_INBOUND_AUTH``         ``user:password`` of Postmark's Basic auth
``SES_SNS_TOPIC_ARNS``            SNS topics whose SES mail is accepted
``SES_SNS_URLS``                  URL prefixes SNS certificates and
                                  ``SubscribeURL`` may be fetched from
``SES_SNS_CERTIFICATE``           a pinned SNS signing certificate (PEM file)
``BREVO_INBOUND_AUTH``            ``user:password`` of Brevo's Basic auth
``MAILJET_INBOUND_AUTH``          ``user:password`` of Mailjet's Basic auth
``MANDRILL_WEBHOOK_KEY``          Mandrill ``X-Mandrill-Signature``
``SPARKPOST_WEBHOOK_TOKEN``       SparkPost relay ``auth_token`` header
``SPARKPOST_INBOUND_AUTH``        ``user:password`` of SparkPost's Basic auth
``RESEND_WEBHOOK_SECRET``         Resend's Svix signing secret (``whsec_``)
``RESEND_API_KEY``                Resend Receiving API reads (the bodies)
``RESEND_API_URL``                Resend API base URL (not a secret)
``MAILERSEND_INBOUND_SECRET``     MailerSend inbound ``Signature``
================================  ============================================

Form builders, CRMs, chat apps and automation tools
(``web/capture_app_webhooks.py``):

================================  ============================================
``TYPEFORM_WEBHOOK_SECRET``       Typeform ``Typeform-Signature``
``FORMSORT_WEBHOOK_SECRET``       Formsort's shared secret
``HUBSPOT_CLIENT_SECRET``         HubSpot ``X-HubSpot-Signature-v3``
``HUBSPOT_ACCESS_TOKEN``          optional: read a new contact's properties
``HUBSPOT_API_URL``               CRM API base URL (not a secret)
``CLOSE_WEBHOOK_SIGNATURE_KEY``   Close ``close-sig-hash`` (hex key)
``OLARK_WEBHOOK_SECRET``          Olark's shared secret
``GENERIC_LEAD_SECRET``           the generic lead webhook's shared secret
``META_APP_SECRET``               also Messenger and WhatsApp signatures
================================  ============================================
"""

from __future__ import annotations

from firsttouch.config import Secret, Settings
from firsttouch.errors import ConfigError
from firsttouch.workspace import Workspace
from firsttouch.workspace.channels import ref_name

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"
DEFAULT_LINKEDIN_URL = "https://api.linkedin.com/rest"
DEFAULT_HUBSPOT_URL = "https://api.hubapi.com"


class ProviderNotConfiguredError(ConfigError):
    """A webhook arrived for a provider whose secret is not set."""

    code = "provider_not_configured"
    status = 503


def provider_secret(settings: Settings, name: str, provider: str) -> Secret:
    """Return the secret ``name`` or say clearly which variable to set."""
    value = settings.env.get(name)
    if not value:
        raise ProviderNotConfiguredError(
            f"{provider} webhooks are not configured: set {name} in the "
            "environment of firsttouch and restart it"
        )
    return Secret(value)


def optional_secret(settings: Settings, name: str) -> Secret | None:
    """Return the secret ``name`` if it is set, else None."""
    value = settings.env.get(name)
    return Secret(value) if value else None


def twilio_auth_token(settings: Settings, workspace: Workspace) -> Secret:
    """Return the Twilio auth token the workspace names (or TWILIO_AUTH_TOKEN)."""
    twilio = workspace.channels.twilio
    name = ref_name(twilio.auth_token) if twilio else "TWILIO_AUTH_TOKEN"
    return provider_secret(settings, name, "Twilio")


def graph_url(settings: Settings) -> str:
    """Return the Graph API base URL (tests point it at a loopback server)."""
    return settings.env.get("META_GRAPH_URL") or DEFAULT_GRAPH_URL


def linkedin_url(settings: Settings) -> str:
    """Return the Lead Sync API base URL (tests point it at a loopback server)."""
    return settings.env.get("LINKEDIN_API_URL") or DEFAULT_LINKEDIN_URL


def hubspot_api_url(settings: Settings) -> str:
    """Return HubSpot's CRM API base URL (tests point it at a loopback server)."""
    return settings.env.get("HUBSPOT_API_URL") or DEFAULT_HUBSPOT_URL
