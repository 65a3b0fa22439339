"""Webhooks of form builders, CRMs, chat apps and automation tools.

Typeform and Formsort (forms), HubSpot and Close (CRMs), Olark and Meta's
Messenger and WhatsApp (chat), and firsttouch's generic lead webhook for
Zapier-like senders. Each route keeps the order of every capture webhook
(``capture_webhooks``): authenticate (401, nothing stored), parse (400 with
the reason), commit through the group-commit writer, then answer. A post
that is not a lead (a status, a deletion, an unfinished form) is recorded
and answered 200 with the reason, so the sender stops retrying.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from firsttouch.capture.events import InboundEvent
from firsttouch.capture.providers import (
    close_crm,
    formsort,
    generic_lead,
    hubspot,
    meta_chat,
    meta_leads,
    olark,
    typeform,
)
from firsttouch.capture.providers.config import (
    hubspot_api_url,
    optional_secret,
    provider_secret,
)
from firsttouch.capture.providers.hubspot_api import (
    HubSpotApiError,
    HubSpotContactClient,
)
from firsttouch.capture.providers.payloads import reading
from firsttouch.capture.providers.shared_secret import (
    SECRET_HEADER,
    check_shared_secret,
)
from firsttouch.capture.providers.twilio_signature import public_request_url
from firsttouch.config import Secret
from firsttouch.logs import get_logger
from firsttouch.runtime import Runtime
from firsttouch.web.capture_webhooks import answer_events
from firsttouch.web.deps import RuntimeDep

log = get_logger(__name__)
router = APIRouter(prefix="/capture", tags=["capture webhooks"])


def _shared_secret_route(
    path: str,
    secret_name: str,
    provider: str,
    parse: Callable[[Request, bytes], list[InboundEvent]],
    summary: str,
) -> None:
    """Register a POST route for a sender that repeats a shared secret."""

    async def route(request: Request, runtime: RuntimeDep) -> Response:
        body = await request.body()
        secret = provider_secret(runtime.settings, secret_name, provider)
        check_shared_secret(
            request.headers.get(SECRET_HEADER),
            request.headers.get("authorization"),
            secret,
            provider=provider,
            variable=secret_name,
        )
        with reading(provider):
            events = parse(request, body)
        return await answer_events(request, events)

    route.__name__ = f"{provider.lower().replace(' ', '_')}_webhook"
    route.__doc__ = summary
    router.add_api_route(path, route, methods=["POST"], name=f"{provider} webhook")


# -- forms --------------------------------------------------------------------


@router.post("/typeform")
async def typeform_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A Typeform ``form_response``; a response without email or phone is recorded."""
    body = await request.body()
    secret = provider_secret(runtime.settings, "TYPEFORM_WEBHOOK_SECRET", "Typeform")
    typeform.verify_typeform_signature(
        request.headers.get(typeform.SIGNATURE_HEADER), body, secret
    )
    with reading("Typeform"):
        event = typeform.parse_typeform(body)
    return await answer_events(request, [event])


_shared_secret_route(
    "/formsort",
    "FORMSORT_WEBHOOK_SECRET",
    "Formsort",
    lambda request, body: [formsort.parse_formsort(body)],
    "A Formsort submission; only a finalized one is a lead.",
)


# -- CRMs ---------------------------------------------------------------------


@router.post("/hubspot")
async def hubspot_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A HubSpot batch; each reachable contact.creation is a lead, the rest recorded.

    HubSpot sends a new contact's id only: its email and phone are read from
    the CRM API with ``HUBSPOT_ACCESS_TOKEN``. If HubSpot is busy the route
    answers 503 to be called again. Without the token, or when HubSpot
    refuses or has no such contact, the event is recorded with its id and a
    reason in ``not_leads`` (nothing is lost, and no one is answered who
    cannot be reached).
    """
    body = await request.body()
    secret = provider_secret(runtime.settings, "HUBSPOT_CLIENT_SECRET", "HubSpot")
    url = public_request_url(
        runtime.settings.public_url, request.url.path, request.url.query
    )
    hubspot.verify_hubspot_signature(
        signature=request.headers.get(hubspot.SIGNATURE_HEADER),
        timestamp=request.headers.get(hubspot.TIMESTAMP_HEADER),
        method=request.method,
        url=url,
        body=body,
        secret=secret,
        now=runtime.clock.now(),
    )
    with reading("HubSpot"):
        events = hubspot.parse_hubspot(body)
    token = optional_secret(runtime.settings, "HUBSPOT_ACCESS_TOKEN")
    fetch_problem = None
    if token and any(e.fields.get("needs_fetch") for e in events):
        try:
            events, fetch_problem = await run_in_threadpool(
                _hubspot_contacts, runtime, token, events
            )
        except HubSpotApiError as exc:
            log.warning("hubspot.contacts_fetch_deferred", reason=str(exc))
            return JSONResponse(
                {"error": {"code": exc.code, "message": str(exc)}},
                status_code=503,
                headers={"Retry-After": "60"},
            )
    return await answer_events(
        request, [_reachable_or_recorded(e, token, fetch_problem) for e in events]
    )


def _reachable_or_recorded(
    event: InboundEvent, token: Secret | None, fetch_problem: str | None
) -> InboundEvent:
    """A new contact with no email or phone is recorded with the reason."""
    if token is None and event.fields.get("needs_fetch"):
        reason: str | None = hubspot.ID_ONLY_REASON
    else:
        reason = hubspot.unreachable_reason(event, fetch_problem)
    if reason is None:
        return event
    log.warning(
        "hubspot.contact_unreachable",
        object_id=event.fields.get("hubspot_object_id"),
        reason=reason,
    )
    return hubspot.recorded_only(event, reason)


def _hubspot_contacts(
    runtime: Runtime, token: Secret, events: list[InboundEvent]
) -> tuple[list[InboundEvent], str | None]:
    """Complete each new contact's event from the CRM; raise only if retryable.

    The second value says why HubSpot refused to give the contacts, if it did.
    """
    wanted = [
        str(e.fields["hubspot_object_id"])
        for e in events
        if e.fields.get("needs_fetch")
    ]
    try:
        with HubSpotContactClient(hubspot_api_url(runtime.settings), token) as api:
            records = api.fetch_contacts(wanted)
    except HubSpotApiError as exc:
        if exc.retryable:
            raise
        # A refusal (a scope, a revoked token) will not heal on a retry:
        # keep the events with their ids and the reason, so nothing is lost.
        log.warning("hubspot.contacts_unreadable", count=len(wanted), reason=str(exc))
        return events, str(exc)

    completed = []
    for event in events:
        record = records.get(str(event.fields.get("hubspot_object_id")))
        if event.fields.get("needs_fetch") and record is not None:
            with reading("HubSpot contact record"):
                completed.append(hubspot.with_contact(event, record))
        else:
            completed.append(event)
    return completed, None


@router.post("/close")
async def close_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """A Close CRM change event: recorded with its reason, never a lead."""
    body = await request.body()
    secret = provider_secret(runtime.settings, "CLOSE_WEBHOOK_SIGNATURE_KEY", "Close")
    close_crm.verify_close_signature(
        request.headers.get(close_crm.SIGNATURE_HEADER),
        request.headers.get(close_crm.TIMESTAMP_HEADER),
        body,
        secret,
        runtime.clock.now(),
    )
    with reading("Close"):
        event = close_crm.parse_close(body)
    return await answer_events(request, [event])


# -- chat ---------------------------------------------------------------------


_shared_secret_route(
    "/chat/olark",
    "OLARK_WEBHOOK_SECRET",
    "Olark",
    lambda request, body: [
        olark.parse_olark(body, request.headers.get("content-type"))
    ],
    "An Olark transcript or offline message; the visitor is a chat lead.",
)


@router.get("/chat/meta")
async def meta_chat_verify(request: Request, runtime: RuntimeDep) -> PlainTextResponse:
    """Meta's subscription handshake for Messenger and WhatsApp."""
    token = provider_secret(runtime.settings, "META_VERIFY_TOKEN", "Meta")
    challenge = meta_leads.answer_challenge(dict(request.query_params), token)
    return PlainTextResponse(challenge)


@router.post("/chat/meta")
async def meta_chat_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """Messenger, Instagram or WhatsApp messages; statuses are recorded."""
    body = await request.body()
    secret = provider_secret(runtime.settings, "META_APP_SECRET", "Meta")
    meta_leads.verify_meta_signature(
        request.headers.get(meta_leads.SIGNATURE_HEADER), body, secret
    )
    with reading("Meta chat"):
        events = meta_chat.parse_meta_chat(body)
    return await answer_events(request, events)


# -- automation tools ---------------------------------------------------------


_shared_secret_route(
    "/leads/generic",
    "GENERIC_LEAD_SECRET",
    "Generic lead",
    lambda request, body: [
        generic_lead.parse_generic_lead(
            body, user_agent=request.headers.get("user-agent")
        )
    ],
    generic_lead.__doc__ or "firsttouch's documented lead webhook.",
)
