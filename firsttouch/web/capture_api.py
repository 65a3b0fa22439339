"""``POST /api/inbounds``: referrals and manual leads from integrations (API key).

The body names the person and, ideally, the caller's own id for the lead
(``external_id``) or an ``Idempotency-Key`` header: sending it again is a
duplicate, not a second lead.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from firsttouch.capture.contacts import merge_contacts, undo_merge
from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.ingest import IngestResult, ingest
from firsttouch.capture.providers.payloads import from_epoch, from_iso, read_time
from firsttouch.errors import InputError
from firsttouch.runtime import Runtime
from firsttouch.store.models import ApiKey, Inbound
from firsttouch.web.deps import get_runtime, require_api_key

router = APIRouter(tags=["capture"])


class ApiInbound(BaseModel):
    """A lead handed over by another system or a person."""

    model_config = ConfigDict(extra="forbid")

    person: PersonFacts
    channel: Literal["api", "referral"] = "api"
    source: str = Field(default="api", max_length=120)
    external_id: str | None = Field(default=None, max_length=200)
    subject: str | None = None
    message: str | None = None
    campaign: str | None = None
    utm: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, Any] = Field(default_factory=dict)
    # Read here, not by the model: a time that does not read is kept as
    # typed in fields, never a 422 that loses the lead.
    occurred_at: str | float | None = Field(
        default=None,
        description="ISO 8601, or seconds since the epoch; kept as typed in "
        "fields.occurred_at_as_typed when it does not read as a time",
    )
    default_region: str | None = Field(default=None, min_length=2, max_length=2)


@router.post("/api/inbounds", status_code=202)
async def create_inbound(
    payload: ApiInbound,
    request: Request,
    key: Annotated[ApiKey, Depends(require_api_key)],
) -> JSONResponse:
    """Capture one lead; 202 with its id once it is committed."""
    runtime = get_runtime(request)
    if not (payload.person.email or payload.person.phone):
        raise InputError("person needs an email or a phone", field="person.email")

    body = await request.body()
    idempotency = request.headers.get("idempotency-key") or payload.external_id
    token = idempotency or hashlib.sha256(body).hexdigest()[:40]
    occurred, as_typed = read_time(payload.occurred_at, _api_time)
    event = InboundEvent(
        dedupe_key=f"api:{key.prefix}:{token}"[:255],
        channel=payload.channel,
        kind="referral" if payload.channel == "referral" else "form",
        source=payload.source,
        provider=f"api:{key.name}"[:64],
        provider_event_id=payload.external_id,
        occurred_at=occurred,
        person=payload.person,
        subject=payload.subject,
        body_text=payload.message,
        fields={**payload.fields, **as_typed},
        campaign=payload.campaign,
        utm=payload.utm,
        raw=body.decode("utf-8", errors="replace"),
        default_region=payload.default_region,
    )
    result = await run_in_threadpool(ingest, runtime, event)
    if result.duplicate and idempotency:
        await run_in_threadpool(_same_request_or_refuse, runtime, result, body)
    return JSONResponse(
        {
            "inbound_id": result.inbound_id,
            "contact_id": result.contact_id,
            "owner_id": result.owner_id,
            "duplicate": result.duplicate,
        },
        status_code=202,
    )


class IdempotencyKeyReusedError(InputError):
    """An idempotency key sent again with a different request."""

    code = "idempotency_key_reused"
    status = 422


def _same_request_or_refuse(
    runtime: Runtime, result: IngestResult, body: bytes
) -> None:
    """A key sent again must carry the same lead: a caller that reused one
    for a new lead would otherwise be told "duplicate" and lose that lead."""
    with runtime.db.sessions() as session:
        stored = session.get(Inbound, result.inbound_id)
        first = stored.raw if stored is not None and not stored.raw_truncated else None
    if first is None or _as_json(first) == _as_json(body):
        return
    raise IdempotencyKeyReusedError(
        f"this Idempotency-Key (or external_id) was first used for a different "
        f"lead (inbound {result.inbound_id}); send a new key for a new lead",
        field="Idempotency-Key",
    )


def _as_json(text: str | bytes) -> Any:
    # Compared as values: a retry may order keys or space them differently.
    try:
        return json.loads(text)
    except ValueError:
        return text


def _api_time(value: str | float | None) -> datetime | None:
    """An API time: ISO 8601, or seconds since the epoch (a number or its text)."""
    return from_iso(value) or from_epoch(value)


class MergeRequest(BaseModel):
    """Fold ``merged_id`` into the contact named in the path."""

    model_config = ConfigDict(extra="forbid")

    merged_id: int
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/api/contacts/{survivor_id}/merge")
async def merge_contact(
    survivor_id: int,
    body: MergeRequest,
    request: Request,
    key: Annotated[ApiKey, Depends(require_api_key)],
) -> JSONResponse:
    """Merge two contacts; every record moves and the merge can be undone."""
    runtime = get_runtime(request)

    def run() -> int:
        with runtime.db.transaction() as session:
            merge = merge_contacts(
                session,
                survivor_id,
                body.merged_id,
                actor=f"api:{key.name}",
                reason=body.reason,
                now=runtime.clock.now(),
            )
            return merge.id

    merge_id = await run_in_threadpool(run)
    return JSONResponse(
        {"merge_id": merge_id, "survivor_id": survivor_id, "merged_id": body.merged_id}
    )


@router.post("/api/contact-merges/{merge_id}/undo")
async def undo_contact_merge(
    merge_id: int,
    request: Request,
    key: Annotated[ApiKey, Depends(require_api_key)],
) -> JSONResponse:
    """Undo a merge: both contacts and their records as they were."""
    runtime = get_runtime(request)

    def run() -> None:
        with runtime.db.transaction() as session:
            undo_merge(session, merge_id, now=runtime.clock.now())

    await run_in_threadpool(run)
    return JSONResponse({"merge_id": merge_id, "undone": True})
