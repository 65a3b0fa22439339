"""The queue, a lead's page, the live feed of new hot leads, and the actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, RedirectResponse, Response

from firsttouch.clock import ensure_utc
from firsttouch.errors import InputError, NotFoundError
from firsttouch.respond.booking import MeetingNotFoundError, cancel_meeting
from firsttouch.runtime import Runtime
from firsttouch.store.models import Meeting
from firsttouch.web.dashboard import queries
from firsttouch.web.dashboard.actions import (
    DISQUALIFY_REASONS,
    SNOOZE_CHOICES,
    LeadActions,
)
from firsttouch.web.dashboard.rendering import countdown, render
from firsttouch.web.dashboard.timeline import contact_timeline
from firsttouch.web.dashboard.visibility import assignable_reps, may_see
from firsttouch.web.sessions import CurrentUser, DashboardUser, require_csrf
from firsttouch.workspace import Workspace

router = APIRouter(include_in_schema=False)

# How far back the live feed looks for leads that turned hot after the page loaded.
LIVE_WINDOW = timedelta(hours=1)

ACTION_MESSAGES = {
    "claimed": "Lead claimed: it is yours now.",
    "reassigned": "Lead reassigned.",
    "called": "Call logged.",
    "snoozed": "Lead snoozed.",
    "disqualified": "Lead disqualified.",
    "meeting_cancelled": "Meeting cancelled: the buyer and the owner are told.",
}


@router.get("/")
def queue_page(request: Request, user: CurrentUser, done: str = "") -> Response:
    runtime = request.app.state.runtime
    now = runtime.clock.now()
    with runtime.db.sessions() as session:
        sections = queries.queue_sections(session, user, runtime.workspace, now)
        snoozed = queries.snoozed_leads(session, user, runtime.workspace, now)
        stuck = queries.stuck_deals(session, user, runtime.workspace, now)
    return render(
        request,
        "queue.html",
        title="Queue",
        sections=sections,
        snoozed=snoozed,
        stuck=stuck,
        since=now - LIVE_WINDOW,
        reps=assignable_reps(user, runtime.workspace),
        message=ACTION_MESSAGES.get(done),
        disqualify_reasons=DISQUALIFY_REASONS,
    )


@router.get("/queue/updates")
def queue_updates(request: Request, user: CurrentUser, since: str = "") -> JSONResponse:
    """Hot leads received since ``since``, as data for the page's script."""
    runtime = request.app.state.runtime
    now = runtime.clock.now()
    try:
        start = ensure_utc(datetime.fromisoformat(since))
    except ValueError:
        start = now - LIVE_WINDOW
    with runtime.db.sessions() as session:
        rows = queries.hot_since(session, user, runtime.workspace, now, start)
    return JSONResponse(
        {"now": now.isoformat(), "leads": [_lead_json(r, now) for r in rows]},
        headers={"Cache-Control": "no-store"},
    )


def _lead_json(row: queries.LeadRow, now: Any) -> dict[str, Any]:
    return {
        "id": row.inbound_id,
        "url": f"/leads/{row.inbound_id}",
        "name": row.name,
        "company": row.company,
        "title": row.title,
        "score": row.score.score,
        "route": row.score.route,
        "brief": row.score.brief or "",
        "reasons": [
            f"{r.label} ({r.points:+.0f})" if r.points is not None else r.label
            for r in row.score.reasons[:3]
        ],
        "owner": row.owner_name,
        "source": row.source,
        "channel": row.channel,
        "due": row.due_at.isoformat() if row.due_at else None,
        "countdown": countdown(row.due_at, now, row.due_label),
        "due_label": row.due_label,
    }


@router.get("/leads/{inbound_id}")
def lead_page(
    request: Request, inbound_id: int, user: CurrentUser, done: str = ""
) -> Response:
    runtime = request.app.state.runtime
    try:
        with runtime.db.sessions() as session:
            lead = queries.get_lead(session, user, runtime.workspace, inbound_id)
            timeline = contact_timeline(session, lead.contact_id, inbound_id)
            facts = queries.contact_facts(session, lead.contact_id)
            meetings = _meetings(session, runtime.workspace, inbound_id)
    except NotFoundError:
        return not_found(request)
    return render(
        request,
        "lead.html",
        title=lead.name,
        lead=lead,
        timeline=timeline,
        facts=facts,
        meetings=meetings,
        reps=assignable_reps(user, runtime.workspace),
        snooze_choices=list(SNOOZE_CHOICES),
        disqualify_reasons=DISQUALIFY_REASONS,
        message=ACTION_MESSAGES.get(done),
        crm=_crm_state(runtime),
        sequence=_sequence_for(runtime.workspace, lead.score.route),
    )


def _meetings(
    session: Session, workspace: Workspace, inbound_id: int
) -> list[tuple[int, datetime, str]]:
    """The lead's booked meetings: (id, start, owner's name), soonest first."""
    rows = session.execute(
        select(Meeting.id, Meeting.starts_at, Meeting.owner_id)
        .where(Meeting.inbound_id == inbound_id, Meeting.status == "confirmed")
        .order_by(Meeting.starts_at)
    )
    names = {rep.id: rep.name for rep in workspace.team.reps}
    return [(r.id, r.starts_at, names.get(r.owner_id, r.owner_id)) for r in rows]


def _cancel_meeting(
    runtime: Runtime, user: DashboardUser, inbound_id: int, form: dict[str, str]
) -> None:
    """Cancel one of the lead's meetings for a user who may see the lead."""
    with runtime.db.sessions() as session:
        queries.get_lead(session, user, runtime.workspace, inbound_id)
    try:
        meeting_id = int(form.get("meeting_id", ""))
    except ValueError:
        raise NotFoundError("no such meeting") from None
    try:
        cancel_meeting(
            runtime.db,
            runtime.clock,
            meeting_id,
            actor=user.rep_id or user.email,
            inbound_id=inbound_id,
        )
    except MeetingNotFoundError as exc:
        raise NotFoundError(str(exc)) from None


def _sequence_for(workspace: Any, route: str | None) -> str | None:
    """The workspace sequence a lead on ``route`` follows, if one names it."""
    if route is None:
        return None
    found = next((q for q in workspace.sequences if route in q.routes), None)
    return found.name if found else None


def _crm_state(runtime: Any) -> str:
    crm = getattr(runtime.workspace, "crm", None)
    if not crm:
        return "Built-in CRM only: no outside CRM is connected in the workspace."
    return f"Synced with {getattr(crm, 'provider', crm)}."


def not_found(request: Request) -> Response:
    return render(
        request,
        "error.html",
        status_code=404,
        title="Not found",
        heading="Lead not found",
        detail="There is no lead with that number that you can see.",
    )


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def _back(form: dict[str, str], inbound_id: int, done: str) -> RedirectResponse:
    # Back to where the click came from: the queue or the lead's page.
    target = f"/leads/{inbound_id}" if form.get("back") == "lead" else "/"
    return RedirectResponse(f"{target}?done={done}", status_code=303)


def _bad_input(request: Request, exc: InputError) -> Response:
    return render(
        request,
        "error.html",
        status_code=400,
        title="Not done",
        heading="That did not work",
        detail=str(exc),
    )


@router.post("/leads/{inbound_id}/{action}", dependencies=[Depends(require_csrf)])
async def lead_action(
    request: Request, inbound_id: int, action: str, user: CurrentUser
) -> Response:
    """Claim, call, snooze, reassign, disqualify or cancel a booked meeting:
    one click, one log entry."""
    runtime = request.app.state.runtime
    form = await _form(request)
    actions = LeadActions(runtime.db, runtime.workspace, runtime.clock, user)
    try:
        if action == "claim":
            actions.claim(inbound_id)
            done = "claimed"
        elif action == "reassign":
            rep_id = form.get("rep_id", "")
            actions.reassign(inbound_id, rep_id)
            done = "reassigned"
            if not may_see(user, runtime.workspace, rep_id):
                # Handed to someone outside the user's view: back to the queue.
                form["back"] = "queue"
        elif action == "call":
            actions.log_call(inbound_id, form.get("note", ""))
            done = "called"
        elif action == "snooze":
            actions.snooze(inbound_id, form.get("until", ""))
            done = "snoozed"
        elif action == "cancel_meeting":
            _cancel_meeting(runtime, user, inbound_id, form)
            done = "meeting_cancelled"
        elif action == "disqualify":
            actions.disqualify(inbound_id, form.get("reason", ""), form.get("note", ""))
            done = "disqualified"
        else:
            return not_found(request)
    except NotFoundError:
        return not_found(request)
    except InputError as exc:
        return _bad_input(request, exc)
    return _back(form, inbound_id, done)
