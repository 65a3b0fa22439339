"""Twilio's callbacks during a call bridge, answered with TwiML.

- ``POST /voice/bridge/{token}``: the rep answered; whisper who the lead is.
- ``POST /voice/bridge/{token}/connect``: the rep pressed a key; on 1, dial
  the buyer.
- ``POST /voice/bridge/{token}/dial``: how the buyer's leg ended.
- ``POST /voice/bridge/{token}/status``: how the rep's leg ended.

Every request must carry a valid ``X-Twilio-Signature`` for the public URL
(checked with the Twilio SDK's validator, as capture does), and the token is
signed by us, so nobody can make us dial a number of their choosing.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from firsttouch.capture.providers.config import twilio_auth_token
from firsttouch.capture.providers.twilio_signature import (
    HEADER,
    SIGNATURE_SETTINGS_HEADER,
    public_request_url,
    read_signed_params,
)
from firsttouch.respond.call_bridge import (
    BridgeTarget,
    bridge_url,
    caller_id,
    connect_twiml,
    goodbye_twiml,
    read_bridge_token,
    record_call_status,
    whisper_twiml,
)
from firsttouch.runtime import Runtime
from firsttouch.store.models import Contact, Inbound, Touch
from firsttouch.web.deps import RuntimeDep

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/voice/bridge", tags=["call bridge"])


def _twiml(xml: str) -> Response:
    return Response(content=xml, media_type="application/xml")


async def _signed_form(request: Request, runtime: Runtime) -> dict[str, str]:
    """Check Twilio's signature for the public URL; return the parameters.

    A form post or a JSON body (signed through ``bodySHA256``) alike.
    """
    body = await request.body()
    url = public_request_url(
        runtime.settings.public_url, request.url.path, request.url.query
    )
    form = read_signed_params(
        twilio_auth_token(runtime.settings, runtime.workspace),
        url,
        body,
        request.headers.get("content-type"),
        request.headers.get(HEADER),
        request.headers.get(SIGNATURE_SETTINGS_HEADER),
    )
    return form.as_dict()


def _touch_meta(runtime: Runtime, target: BridgeTarget) -> dict[str, str]:
    key = f"bridge:{target.inbound_id}:{target.rep_id}:{target.attempt}"
    with runtime.db.sessions() as session:
        meta = session.scalar(select(Touch.meta).where(Touch.idempotency_key == key))
    return dict(meta or {})


def _buyer_phone(runtime: Runtime, inbound_id: int) -> str | None:
    with runtime.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None or inbound.contact_id is None:
            return None
        contact = session.get(Contact, inbound.contact_id)
        return contact.phone_e164 if contact else None


@router.post("/{token}")
async def bridge_answered(
    token: str, request: Request, runtime: RuntimeDep
) -> Response:
    """The rep picked up: say who the lead is and ask for 1 to connect."""
    await _signed_form(request, runtime)
    target = read_bridge_token(runtime.settings.secret_key, token)
    meta = _touch_meta(runtime, target)
    connect = bridge_url(runtime.settings.public_url, token, "connect")
    return _twiml(
        whisper_twiml(meta.get("lead") or "a new lead", meta.get("topic"), connect)
    )


@router.post("/{token}/connect")
async def bridge_connect(token: str, request: Request, runtime: RuntimeDep) -> Response:
    """On 1, ring the buyer into the call; otherwise hang up."""
    form = await _signed_form(request, runtime)
    target = read_bridge_token(runtime.settings.secret_key, token)
    if form.get("Digits") != "1":
        return _twiml(goodbye_twiml("Not connecting. Goodbye."))

    phone = _buyer_phone(runtime, target.inbound_id)
    if not phone:
        return _twiml(goodbye_twiml("This lead has no phone number any more."))
    log.info("bridge.connecting", inbound_id=target.inbound_id, rep=target.rep_id)
    dial = bridge_url(runtime.settings.public_url, token, "dial")
    return _twiml(connect_twiml(phone, caller_id(runtime.workspace), dial))


@router.post("/{token}/dial")
async def bridge_dialled(token: str, request: Request, runtime: RuntimeDep) -> Response:
    """The buyer's leg ended: record how, and close the rep's call politely."""
    form = await _signed_form(request, runtime)
    target = read_bridge_token(runtime.settings.secret_key, token)
    record_call_status(runtime, target, form)
    if form.get("DialCallStatus") == "completed":
        return _twiml(goodbye_twiml("Call ended."))
    return _twiml(goodbye_twiml("The lead did not answer. Goodbye."))


@router.post("/{token}/status")
async def bridge_status(token: str, request: Request, runtime: RuntimeDep) -> Response:
    """The rep's leg changed state (completed, busy, no-answer, failed)."""
    form = await _signed_form(request, runtime)
    target = read_bridge_token(runtime.settings.secret_key, token)
    record_call_status(runtime, target, {"CallStatus": form.get("CallStatus", "")})
    return Response(status_code=204)
