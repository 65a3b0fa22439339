"""Provider webhooks: verify the signature, parse, store, then acknowledge.

Every route follows the same order, so a provider's 2xx always means the
inbound is committed: read the raw body, check the provider's signature
(401, nothing stored, when it fails), parse the wire format (400 with the
reason when unreadable), hand it to the group-commit writer
(``capture.accept``), answer once it is committed. A provider's retry of an
event already stored is answered 2xx again and changes nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from firsttouch.capture.accept import Accepted
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.own_mail import mark_own_mail
from firsttouch.capture.providers import (
    calcom,
    calendly,
    generic_chat,
    intercom,
    linkedin,
    mailgun,
    meta_leads,
    postmark,
    sendgrid,
    twilio_sms,
    twilio_voice,
)
from firsttouch.capture.providers.config import (
    graph_url,
    linkedin_url,
    optional_secret,
    provider_secret,
    twilio_auth_token,
)
from firsttouch.capture.providers.linkedin_api import (
    LinkedInApiError,
    LinkedInLeadClient,
)
from firsttouch.capture.providers.meta_graph import GraphClient, GraphError
from firsttouch.capture.providers.payloads import FormFields, reading
from firsttouch.capture.providers.shared_secret import basic_credentials
from firsttouch.capture.providers.twilio_calls import capture_call_event
from firsttouch.capture.providers.twilio_signature import (
    HEADER as TWILIO_HEADER,
)
from firsttouch.capture.providers.twilio_signature import (
    SIGNATURE_SETTINGS_HEADER,
    public_request_url,
    read_signed_params,
)
from firsttouch.config import Secret
from firsttouch.errors import InputError, SignatureError
from firsttouch.logs import get_logger
from firsttouch.runtime import Runtime
from firsttouch.web.deps import RuntimeDep, get_accept_writer, get_runtime

log = get_logger(__name__)
router = APIRouter(prefix="/capture", tags=["capture webhooks"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# -- shared steps -------------------------------------------------------------


async def _store(request: Request, events: list[InboundEvent]) -> list[Accepted]:
    """Commit the events (a duplicate is a no-op) before the route answers.

    The group-commit writer stores each event with its ``capture.ingest``
    job; contact, owner and follow-ups come from that job a moment later.
    """
    return await get_accept_writer(request).accept(events)


async def answer_events(
    request: Request, events: list[InboundEvent], **extra: Any
) -> JSONResponse:
    """Commit the events, then say what each became (a retry changes nothing).

    Every capture webhook answers in this one shape: the stored ids, how
    many were already there, and each event recorded without becoming a
    lead in ``not_leads`` with its reason, so an operator reading the
    provider's delivery log sees why no one was answered.
    """
    # Our own mail is stored as not a lead by ingest; the answer says so too.
    workspace = get_runtime(request).workspace
    events = [mark_own_mail(workspace, e) for e in events]
    unique = list({e.dedupe_key: e for e in events}.values())
    results = await _store(request, unique) if unique else []
    if not unique:
        extra.setdefault("ignored", "the post holds no message, lead or status")
    return _stored_answer(results, unique, **extra)


def _stored_answer(
    results: list[Accepted], events: list[InboundEvent], **extra: Any
) -> JSONResponse:
    """The answer for ``events`` already committed as ``results``."""
    not_leads = [
        {"inbound_id": r.inbound_id, "reason": _not_lead_reason(e)}
        for r, e in zip(results, events, strict=True)
        if not e.creates_lead
    ]
    return accepted_response(results, not_leads=not_leads, **extra)


def _not_lead_reason(event: InboundEvent) -> str:
    reason = event.fields.get("not_a_lead")
    reasons = [
        str(reason) if reason else f"a {event.kind} event is recorded, not a lead"
    ]
    # Say which given value could not be used: the sender can correct it.
    for name, what in (("email", "an email address"), ("phone", "a phone number")):
        typed = event.fields.get(f"{name}_as_typed")
        if typed:
            reasons.append(f"the {name} given ({str(typed)[:80]!r}) is not {what}")
    return "; ".join(reasons)


def accepted_response(
    results: list[Accepted],
    *,
    not_leads: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "accepted": True,
        "inbound_ids": [r.inbound_id for r in results],
        "duplicates": sum(r.duplicate for r in results),
        "not_leads": not_leads or [],
        **extra,
    }
    return JSONResponse(body, status_code=200)


def _twiml(xml: str = EMPTY_TWIML) -> Response:
    return Response(xml, media_type="application/xml")


def check_basic_auth(
    request: Request, runtime: Runtime, name: str, provider: str
) -> None:
    """Check the ``user:password`` a provider puts in its webhook URL."""
    expected = provider_secret(runtime.settings, name, provider).reveal()
    presented = basic_credentials(request.headers.get("authorization"))
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise SignatureError(
            f"{provider} inbound post without the Basic auth set in {name}; put "
            "https://user:password@your-host/... as the webhook URL"
        )


async def _form_fields(request: Request) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """A multipart or urlencoded post: its text fields and its files' metadata."""
    try:
        form = await request.form()
    except Exception as exc:  # noqa: BLE001 - python-multipart raises several kinds
        raise InputError(f"the form body could not be read: {exc}") from exc
    fields: dict[str, str] = {}
    files: list[dict[str, Any]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            files.append(
                {
                    "field": key,
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "size": value.size,
                }
            )
        else:
            fields.setdefault(key, value)
    return fields, files


# -- Twilio -------------------------------------------------------------------


def _twilio_form(request: Request, runtime: Runtime, body: bytes) -> FormFields:
    """Check ``X-Twilio-Signature`` against the public URL, then read the body.

    A form post or a JSON body (signed through its ``bodySHA256`` URL
    parameter) gives the same named parameters.
    """
    token = twilio_auth_token(runtime.settings, runtime.workspace)
    url = public_request_url(
        runtime.settings.public_url, request.url.path, request.url.query
    )
    return read_signed_params(
        token,
        url,
        body,
        request.headers.get("content-type"),
        request.headers.get(TWILIO_HEADER),
        request.headers.get(SIGNATURE_SETTINGS_HEADER),
    )


@router.post("/twilio/sms")
async def twilio_sms_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """An inbound SMS/MMS/WhatsApp message or a message status callback."""
    body = await request.body()
    form = _twilio_form(request, runtime, body)
    with reading("Twilio"):
        event = twilio_sms.parse_twilio_sms(body, form)
    await _store(request, [event])
    return _twiml()


@router.post("/twilio/sms/status")
async def twilio_sms_status_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A delivery status callback of a message we sent (21610 = opted out)."""
    return await twilio_sms_webhook(request, runtime)


def _voicemail_twiml(runtime: Runtime) -> str:
    """Answer an incoming call with a voicemail prompt that calls us back."""
    base = runtime.settings.public_url.rstrip("/")
    company = xml_escape(runtime.workspace.company.name)
    recording = quoteattr(f"{base}/capture/twilio/voice/recording")
    transcription = quoteattr(f"{base}/capture/twilio/voice/transcription")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f"<Say>Thanks for calling {company}. Please leave your name, number and "
        "what you need after the tone, and we will call you right back.</Say>"
        f'<Record maxLength="120" playBeep="true" '
        f'recordingStatusCallback={recording} transcribe="true" '
        f"transcribeCallback={transcription}/>"
        "</Response>"
    )


@router.post("/twilio/voice")
async def twilio_voice_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """An incoming call: store it, then take a voicemail."""
    body = await request.body()
    form = _twilio_form(request, runtime, body)
    with reading("Twilio"):
        event = twilio_voice.parse_twilio_voice(body, form, "incoming")
    await _store(request, [event])
    return _twiml(_voicemail_twiml(runtime))


@router.post("/twilio/voice/status")
async def twilio_voice_status_webhook(
    request: Request, runtime: RuntimeDep
) -> Response:
    """A call status callback; an unanswered inbound call is a missed call."""
    body = await request.body()
    form = _twilio_form(request, runtime, body)
    with reading("Twilio"):
        event = twilio_voice.parse_twilio_voice(body, form, "status")
    await run_in_threadpool(capture_call_event, runtime, event)
    return _twiml()


@router.post("/twilio/voice/recording")
async def twilio_voice_recording_webhook(
    request: Request, runtime: RuntimeDep
) -> Response:
    """A voicemail recording: stored and attached to its call's inbound."""
    return await _voicemail(request, runtime, "recording")


@router.post("/twilio/voice/transcription")
async def twilio_voice_transcription_webhook(
    request: Request, runtime: RuntimeDep
) -> Response:
    """A voicemail transcription: stored and attached to its call's inbound."""
    return await _voicemail(request, runtime, "transcription")


async def _voicemail(
    request: Request, runtime: Runtime, callback: twilio_voice.Callback
) -> Response:
    body = await request.body()
    form = _twilio_form(request, runtime, body)
    with reading("Twilio"):
        event = twilio_voice.parse_twilio_voice(body, form, callback)
    await run_in_threadpool(capture_call_event, runtime, event)
    return _twiml()


# -- Meta lead ads ------------------------------------------------------------


@router.get("/meta/leads")
async def meta_verify(request: Request, runtime: RuntimeDep) -> PlainTextResponse:
    """Meta's subscription handshake: echo ``hub.challenge`` for our token."""
    token = provider_secret(runtime.settings, "META_VERIFY_TOKEN", "Meta")
    challenge = meta_leads.answer_challenge(dict(request.query_params), token)
    return PlainTextResponse(challenge)


@router.post("/meta/leads")
async def meta_leads_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A signed leadgen notice: fetch each lead from Graph, then store it.

    When Graph cannot give a lead now, the route answers 503 so Meta
    delivers the notice again (it retries for up to 36 hours); leads of the
    same notice already stored are de-duplicated on the retry.
    """
    body = await request.body()
    secret = provider_secret(runtime.settings, "META_APP_SECRET", "Meta")
    meta_leads.verify_meta_signature(
        request.headers.get(meta_leads.SIGNATURE_HEADER), body, secret
    )
    with reading("Meta"):
        notices = meta_leads.parse_leadgen_notification(body)
    if not notices:
        return accepted_response([], ignored="no leadgen change in this notification")

    page_token = provider_secret(runtime.settings, "META_PAGE_ACCESS_TOKEN", "Meta")
    raw = body.decode("utf-8", "replace")
    events, results = [], []
    with GraphClient(
        graph_url(runtime.settings), page_token, app_secret=secret
    ) as graph:
        for notice in notices:
            try:
                lead = await run_in_threadpool(graph.fetch_lead, notice.leadgen_id)
            except GraphError as exc:
                log.error(
                    "meta.lead_fetch_failed",
                    leadgen_id=notice.leadgen_id,
                    retryable=exc.retryable,
                    graph_code=exc.graph_code,
                    reason=str(exc),
                )
                headers = {"Retry-After": str(int(exc.retry_after or 60))}
                return JSONResponse(
                    {"error": {"code": exc.code, "message": str(exc)}},
                    status_code=503,
                    headers=headers,
                )
            with reading("Meta Graph lead"):
                event = meta_leads.lead_event(notice, lead, raw)
            events.append(event)
            results += await _store(request, [event])
    return _stored_answer(results, events)


# -- LinkedIn -----------------------------------------------------------------


@router.get("/linkedin")
async def linkedin_validate(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """LinkedIn's endpoint validation: answer the ``challengeCode`` HMAC."""
    secret = provider_secret(runtime.settings, "LINKEDIN_CLIENT_SECRET", "LinkedIn")
    code = request.query_params.get("challengeCode", "")
    return JSONResponse(linkedin.answer_challenge(code, secret))


@router.post("/linkedin")
async def linkedin_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A Lead Sync notification; DELETED is recorded, never a lead.

    A CREATED response's answers are read from the Lead Sync API when
    ``LINKEDIN_ACCESS_TOKEN`` is set. If LinkedIn is busy the route answers
    503 to be called again; if it refuses outright (a permission), the
    notification is stored as it is so the lead is not lost.
    """
    body = await request.body()
    secret = provider_secret(runtime.settings, "LINKEDIN_CLIENT_SECRET", "LinkedIn")
    linkedin.verify_linkedin_signature(
        request.headers.get(linkedin.SIGNATURE_HEADER), body, secret
    )
    with reading("LinkedIn"):
        event = linkedin.parse_linkedin(body)
    token = optional_secret(runtime.settings, "LINKEDIN_ACCESS_TOKEN")
    if token and event.fields.get("needs_fetch"):
        try:
            event = await run_in_threadpool(_linkedin_answers, runtime, token, event)
        except LinkedInApiError as exc:
            log.error(
                "linkedin.lead_fetch_failed", retryable=exc.retryable, reason=str(exc)
            )
            if exc.retryable:
                return JSONResponse(
                    {"error": {"code": exc.code, "message": str(exc)}},
                    status_code=503,
                    headers={"Retry-After": "60"},
                )
    return await answer_events(request, [event])


def _linkedin_answers(
    runtime: Runtime, token: Secret, event: InboundEvent
) -> InboundEvent:
    with LinkedInLeadClient(linkedin_url(runtime.settings), token) as api:
        response = api.fetch_response(str(event.fields["form_response_urn"]))
        form_urn = response.get("versionedLeadGenFormUrn") or event.fields.get(
            "form_urn", ""
        )
        form = api.fetch_form(str(form_urn))
    return linkedin.with_answers(event, response, form)


# -- bookings and chat --------------------------------------------------------


def _signed_json_route(
    path: str,
    secret_name: str,
    provider: str,
    verify: Callable[[Request, bytes, Any, Runtime], None],
    parse: Callable[[bytes], InboundEvent],
    summary: str,
) -> None:
    """Register a POST route for a provider that signs its JSON body."""

    async def route(request: Request, runtime: RuntimeDep) -> Response:
        body = await request.body()
        secret = provider_secret(runtime.settings, secret_name, provider)
        verify(request, body, secret, runtime)
        with reading(provider):
            event = parse(body)
        return await answer_events(request, [event])

    route.__doc__ = summary
    router.add_api_route(path, route, methods=["POST"], name=f"{provider} webhook")


_signed_json_route(
    "/calendly",
    "CALENDLY_WEBHOOK_SIGNING_KEY",
    "Calendly",
    lambda r, b, s, rt: calendly.verify_calendly_signature(
        r.headers.get(calendly.SIGNATURE_HEADER), b, s, rt.clock.now()
    ),
    calendly.parse_calendly,
    "A Calendly invitee webhook; invitee.created is a meeting.",
)
_signed_json_route(
    "/calcom",
    "CALCOM_WEBHOOK_SECRET",
    "Cal.com",
    lambda r, b, s, rt: calcom.verify_calcom_signature(
        r.headers.get(calcom.SIGNATURE_HEADER), b, s
    ),
    calcom.parse_calcom,
    "A Cal.com booking webhook; BOOKING_CREATED is a meeting.",
)
_signed_json_route(
    "/chat/intercom",
    "INTERCOM_CLIENT_SECRET",
    "Intercom",
    lambda r, b, s, rt: intercom.verify_intercom_signature(
        r.headers.get(intercom.SIGNATURE_HEADER), b, s
    ),
    intercom.parse_intercom,
    "An Intercom notification; new contacts and visitor messages are chat leads.",
)
_signed_json_route(
    "/chat/generic",
    "GENERIC_CHAT_SECRET",
    "Generic chat",
    lambda r, b, s, rt: generic_chat.verify_generic_chat_signature(
        r.headers.get(generic_chat.SIGNATURE_HEADER), b, s
    ),
    generic_chat.parse_generic_chat,
    generic_chat.__doc__ or "firsttouch's documented chat webhook.",
)


# -- inbound email ------------------------------------------------------------


@router.post("/email/mailgun")
async def mailgun_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A Mailgun route's forward (parsed fields or ``body-mime``)."""
    fields, files = await _form_fields(request)
    key = provider_secret(runtime.settings, "MAILGUN_WEBHOOK_SIGNING_KEY", "Mailgun")
    mailgun.verify_mailgun_signature(fields, key, runtime.clock.now())
    with reading("Mailgun"):
        event = mailgun.parse_mailgun(fields, files or None)
    return await answer_events(request, [event])


@router.post("/email/sendgrid")
async def sendgrid_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A SendGrid Inbound Parse post (parsed fields or raw ``email``)."""
    check_basic_auth(request, runtime, "SENDGRID_INBOUND_AUTH", "SendGrid")
    fields, files = await _form_fields(request)
    with reading("SendGrid"):
        event = sendgrid.parse_sendgrid(fields, files or None)
    return await answer_events(request, [event])


@router.post("/email/postmark")
async def postmark_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A Postmark inbound JSON post."""
    check_basic_auth(request, runtime, "POSTMARK_INBOUND_AUTH", "Postmark")
    body = await request.body()
    with reading("Postmark"):
        event = postmark.parse_postmark(body)
    return await answer_events(request, [event])
