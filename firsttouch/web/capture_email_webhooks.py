"""Inbound-mail webhooks of Amazon SES, Brevo, Mailjet, Mandrill, SparkPost,
Resend and MailerSend.

Each route follows the order of every capture webhook (see
``capture_webhooks``): check the provider's signature or, where it signs
nothing, the Basic auth or token the workspace set (401, nothing stored);
parse (400 with the reason); commit through the group-commit writer; answer
2xx. A retry of a stored message is answered 2xx again and changes
nothing. Posts that are not inbound mail (a Mandrill ``send`` event, a
Resend ``email.delivered``, an SES bounce) are answered 2xx and counted as
ignored, so the provider stops retrying them.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers import (
    amazon_ses,
    brevo,
    mailersend,
    mailjet,
    mandrill,
    resend,
    sns,
    sparkpost,
)
from firsttouch.capture.providers.config import (
    ProviderNotConfiguredError,
    optional_secret,
    provider_secret,
)
from firsttouch.capture.providers.mail_event import Batch
from firsttouch.capture.providers.payloads import raw_text, read_form, reading
from firsttouch.capture.providers.resend_api import (
    DEFAULT_API_URL,
    ResendApiError,
    ResendReceivingClient,
)
from firsttouch.capture.providers.svix import svix_key, verify_svix_signature
from firsttouch.capture.providers.twilio_signature import public_request_url
from firsttouch.config import Secret
from firsttouch.errors import SignatureError
from firsttouch.logs import get_logger
from firsttouch.runtime import Runtime
from firsttouch.web.capture_webhooks import (
    accepted_response,
    answer_events,
    check_basic_auth,
)
from firsttouch.web.deps import RuntimeDep

log = get_logger(__name__)
router = APIRouter(prefix="/capture/email", tags=["capture webhooks"])


def _ignored(provider: str, what: str) -> JSONResponse:
    """A post that is not inbound mail: acknowledged so it is not retried."""
    log.info("capture.webhook_ignored", provider=provider, what=what)
    return accepted_response([], ignored=what)


async def _store_batch(request: Request, provider: str, batch: Batch) -> JSONResponse:
    """Store the readable messages of a post; name the ones that were not."""
    extra: dict[str, Any] = {}
    if batch.rejected:
        log.error(
            "capture.batch_items_rejected",
            provider=provider,
            stored=len(batch.events),
            rejected=batch.rejected,
        )
        extra["rejected"] = batch.rejected
    return await answer_events(request, batch.events, **extra)


def _unavailable(message: str, code: str) -> JSONResponse:
    """503 with Retry-After: the provider delivers again later."""
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=503,
        headers={"Retry-After": "60"},
    )


# -- Amazon SES (through SNS) -------------------------------------------------


@router.post("/amazon-ses")
async def amazon_ses_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """An SNS delivery of an SES receipt rule (or the subscription handshake)."""
    trust = sns.sns_trust(runtime.settings)
    body = await request.body()
    with reading("SNS"):
        message = sns.read_sns_message(body, request.headers.get(sns.TYPE_HEADER))
    try:
        await run_in_threadpool(
            sns.verify_sns_message, message, trust, runtime.clock.now()
        )
    except sns.SnsError as exc:
        log.error(
            "sns.certificate_unavailable", retryable=exc.retryable, reason=str(exc)
        )
        if not exc.retryable:
            # No certificate at that URL: the signature cannot be SNS's.
            raise SignatureError(f"{exc}; the message cannot be verified") from exc
        return _unavailable(str(exc), exc.code)

    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        return await _confirm_sns(message, trust)
    if kind == "UnsubscribeConfirmation":
        log.warning("sns.unsubscribed", topic=message.get("TopicArn"))
        return _ignored("amazon_ses", "UnsubscribeConfirmation")

    with reading("Amazon SES"):
        ses = amazon_ses.ses_notification(message)
        event = (
            None if ses is None else amazon_ses.parse_ses_received(ses, raw_text(body))
        )
    if event is None:
        return _ignored("amazon_ses", "an SES notification other than Received")
    return await answer_events(request, [event])


async def _confirm_sns(message: dict[str, Any], trust: sns.SnsTrust) -> Response:
    try:
        await run_in_threadpool(sns.confirm_subscription, message, trust)
    except sns.SnsError as exc:
        log.error(
            "sns.confirmation_failed", topic=message.get("TopicArn"), reason=str(exc)
        )
        return _unavailable(str(exc), exc.code)
    log.info("sns.subscription_confirmed", topic=message.get("TopicArn"))
    return JSONResponse({"confirmed": True, "topic": message.get("TopicArn")})


# -- Brevo and Mailjet: unsigned, Basic auth in the URL -------------------------


@router.post("/brevo")
async def brevo_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A Brevo inbound parsing post (one or more ``items``)."""
    check_basic_auth(request, runtime, "BREVO_INBOUND_AUTH", "Brevo")
    body = await request.body()
    with reading("Brevo"):
        batch = brevo.parse_brevo(body)
    return await _store_batch(request, "brevo", batch)


@router.post("/mailjet")
async def mailjet_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A Mailjet Parse API post."""
    check_basic_auth(request, runtime, "MAILJET_INBOUND_AUTH", "Mailjet")
    body = await request.body()
    with reading("Mailjet"):
        event = mailjet.parse_mailjet(body)
    return await answer_events(request, [event])


# -- Mandrill -------------------------------------------------------------------


@router.head("/mandrill")
async def mandrill_check() -> Response:
    """Mandrill's reachability check when a webhook is saved."""
    return Response(status_code=200)


@router.post("/mandrill")
async def mandrill_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A signed Mandrill post of ``mandrill_events``."""
    key = provider_secret(runtime.settings, "MANDRILL_WEBHOOK_KEY", "Mandrill")
    body = await request.body()
    form = read_form(body, "Mandrill")
    url = public_request_url(
        runtime.settings.public_url, request.url.path, request.url.query
    )
    mandrill.verify_mandrill_signature(
        request.headers.get(mandrill.SIGNATURE_HEADER), url, form, key
    )
    with reading("Mandrill"):
        batch, others = mandrill.parse_mandrill(form)
    if not batch.events:
        return _ignored("mandrill", f"{others} event(s), none inbound")
    return await _store_batch(request, "mandrill", batch)


# -- SparkPost ------------------------------------------------------------------


def _check_sparkpost_auth(request: Request, runtime: Runtime) -> None:
    """The relay webhook's ``auth_token`` header, else its Basic auth."""
    token = optional_secret(runtime.settings, "SPARKPOST_WEBHOOK_TOKEN")
    basic = optional_secret(runtime.settings, "SPARKPOST_INBOUND_AUTH")
    if token is None and basic is None:
        raise ProviderNotConfiguredError(
            "SparkPost webhooks are not configured: set SPARKPOST_WEBHOOK_TOKEN "
            "(the relay webhook's auth_token) or SPARKPOST_INBOUND_AUTH "
            "(user:password) and restart firsttouch"
        )
    presented = request.headers.get(sparkpost.TOKEN_HEADER)
    if token is not None and presented:
        if not hmac.compare_digest(presented.encode(), token.reveal().encode()):
            raise SignatureError(
                f"SparkPost {sparkpost.TOKEN_HEADER} is not SPARKPOST_WEBHOOK_TOKEN; "
                "refused, nothing stored"
            )
        return
    if basic is not None:
        check_basic_auth(request, runtime, "SPARKPOST_INBOUND_AUTH", "SparkPost")
        return
    raise SignatureError(
        f"SparkPost post without {sparkpost.TOKEN_HEADER}; set the relay webhook's "
        "auth_token to SPARKPOST_WEBHOOK_TOKEN"
    )


@router.post("/sparkpost")
async def sparkpost_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A SparkPost relay webhook batch."""
    _check_sparkpost_auth(request, runtime)
    body = await request.body()
    with reading("SparkPost"):
        batch = sparkpost.parse_sparkpost(body)
    return await _store_batch(request, "sparkpost", batch)


# -- Resend ---------------------------------------------------------------------


@router.post("/resend")
async def resend_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A Svix-signed Resend ``email.received`` event; the body is read from Resend."""
    secret = provider_secret(runtime.settings, "RESEND_WEBHOOK_SECRET", "Resend")
    body = await request.body()
    verify_svix_signature(
        request.headers,
        body,
        svix_key(secret, "RESEND_WEBHOOK_SECRET"),
        runtime.clock.now(),
        "Resend",
    )
    with reading("Resend"):
        data = resend.received_data(body)
    if data is None:
        return _ignored("resend", "an event other than email.received")

    content = None
    api_key = optional_secret(runtime.settings, "RESEND_API_KEY")
    if api_key is not None and data.get("email_id"):
        try:
            content = await run_in_threadpool(
                _resend_content, runtime, api_key, str(data["email_id"])
            )
        except ResendApiError as exc:
            log.error(
                "resend.content_fetch_failed", retryable=exc.retryable, reason=str(exc)
            )
            if exc.retryable:
                return _unavailable(str(exc), exc.code)
    with reading("Resend"):
        event = resend.received_event(data, body, content)
    return await answer_events(request, [event])


def _resend_content(runtime: Runtime, api_key: Secret, email_id: str) -> dict[str, Any]:
    base = runtime.settings.env.get("RESEND_API_URL") or DEFAULT_API_URL
    with ResendReceivingClient(base, api_key) as api:
        return api.fetch_email(email_id)


# -- MailerSend -----------------------------------------------------------------


@router.post("/mailersend")
async def mailersend_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A signed MailerSend inbound route post."""
    secret = provider_secret(
        runtime.settings, "MAILERSEND_INBOUND_SECRET", "MailerSend"
    )
    body = await request.body()
    mailersend.verify_mailersend_signature(
        request.headers.get(mailersend.SIGNATURE_HEADER), body, secret
    )
    with reading("MailerSend"):
        event: InboundEvent | None = mailersend.parse_mailersend(body)
    if event is None:
        return _ignored("mailersend", "an event other than inbound.message")
    return await answer_events(request, [event])
