"""The operating pages: SLA board, sequences, leak score, outbox, workspace
and jobs. Each reads what its layer has stored; a layer not installed yet is
named as such rather than shown as an empty success.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import and_, func, or_, select
from starlette.responses import FileResponse, RedirectResponse, Response

from firsttouch.capture.ingest import ACCEPTED
from firsttouch.errors import FirsttouchError, WorkspaceError
from firsttouch.jobs.queue import JobQueue
from firsttouch.logs import get_logger
from firsttouch.respond.sla import HUMAN_CLOCK
from firsttouch.store.models import Contact, Inbound, SlaEvent
from firsttouch.store.models.inbound import CLOSED_STATUSES
from firsttouch.web.dashboard import queries
from firsttouch.web.dashboard.rendering import render
from firsttouch.web.dashboard.visibility import visible_clause
from firsttouch.web.sessions import CurrentUser, require_csrf
from firsttouch.workspace import load_workspace

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}


@router.get("/static/dashboard/{name}")
def static_file(name: str) -> Response:
    """The dashboard's own stylesheet and script; nothing else is served."""
    if name not in STATIC_FILES:
        raise HTTPException(status_code=404)
    return FileResponse(
        STATIC / name,
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "max-age=300"},
    )


@router.get("/sla")
def sla_board(request: Request, user: CurrentUser) -> Response:
    """Inbounds still waiting for a first touch, and this week's breaches."""
    runtime = request.app.state.runtime
    now = runtime.clock.now()
    week = queries.start_of_week(now)
    names = {r.id: r.name for r in runtime.workspace.team.reps}
    seen = visible_clause(user, runtime.workspace)
    # Leads only: a voicemail or a reply hangs on its lead and has no clock.
    waiting_where = and_(
        seen,
        Inbound.contact_id.is_not(None),
        Inbound.parent_id.is_(None),
        Inbound.first_touch_due_at.is_not(None),
        Inbound.first_touch_at.is_(None),
        Inbound.status.not_in(CLOSED_STATUSES),
    )
    # A breach is what respond's SLA clock recorded as one, so this board and
    # every other report agree; a first touch held back by consent (quiet
    # hours) and sent when allowed is not a breach.
    recorded_breach = _sla_recorded("first_touch", "breached")
    breached = or_(
        recorded_breach,
        and_(
            Inbound.first_touch_at.is_(None),
            Inbound.first_touch_due_at < now,
            Inbound.sla_state != "deferred_by_policy",
        ),
    )
    # A person's follow-up, missed this week: what respond recorded, with
    # whether the manager has been told.
    follow_up_missed = and_(
        seen,
        Inbound.received_at >= week,
        _sla_recorded(HUMAN_CLOCK, "breached"),
    )
    with runtime.db.sessions() as session:
        # Stored and acknowledged, not yet given a contact and an owner: a
        # moment on a running worker; a growing count means none is running.
        unprocessed, oldest_unprocessed = session.execute(
            select(func.count(), func.min(Inbound.received_at)).where(
                Inbound.status == ACCEPTED
            )
        ).one()
        waiting = _rows(session, waiting_where, Inbound.received_at.asc(), names)
        missed = _rows(session, follow_up_missed, Inbound.received_at.desc(), names)
        escalated = set(
            session.scalars(
                select(SlaEvent.inbound_id).where(
                    SlaEvent.clock == HUMAN_CLOCK,
                    SlaEvent.state == "escalated",
                    SlaEvent.inbound_id.in_([row.inbound_id for row in missed]),
                )
            )
        )
        waiting_total = session.scalar(
            select(func.count()).select_from(Inbound).where(waiting_where)
        )
        breaches = _rows(
            session,
            and_(seen, Inbound.received_at >= week, breached),
            Inbound.received_at.desc(),
            names,
        )
        breach_total = session.scalar(
            select(func.count())
            .select_from(Inbound)
            .where(seen, Inbound.received_at >= week, breached)
        )
    return render(
        request,
        "sla.html",
        title="SLA board",
        waiting=waiting,
        waiting_total=waiting_total or 0,
        breaches=breaches,
        breach_total=breach_total or 0,
        missed=missed,
        escalated=escalated,
        unprocessed=unprocessed or 0,
        oldest_unprocessed=oldest_unprocessed,
        week=week,
    )


def _sla_recorded(clock: str, state: str) -> Any:
    """An inbound for which respond's SLA clock recorded ``state``."""
    return (
        select(SlaEvent.id)
        .where(
            SlaEvent.inbound_id == Inbound.id,
            SlaEvent.clock == clock,
            SlaEvent.state == state,
        )
        .exists()
    )


def _rows(
    session: Any, where: Any, order: Any, names: dict[str, str]
) -> list[queries.LeadRow]:
    query = (
        select(Inbound, Contact)
        .outerjoin(Contact, Contact.id == Inbound.contact_id)
        .where(where)
        .order_by(order)
        .limit(queries.SECTION_LIMIT)
    )
    return [queries.lead_row(i, c, names) for i, c in session.execute(query)]


@router.get("/sequences")
def sequences_page(request: Request, user: CurrentUser) -> Response:
    runtime = request.app.state.runtime
    enrollments = _enrollment_counts(runtime)
    return render(
        request,
        "sequences.html",
        title="Sequences",
        sequences=runtime.workspace.sequences,
        enrollments=enrollments,
    )


def _enrollment_counts(runtime: Any) -> dict[str, dict[str, int]] | None:
    """Enrollments by sequence and state, or None when nurture is not installed."""
    models = importlib.import_module("firsttouch.store.models")
    enrollment = getattr(models, "Enrollment", None)
    if enrollment is None:
        return None
    sequence_col = getattr(enrollment, "sequence", None) or getattr(
        enrollment, "sequence_name", None
    )
    state_col = getattr(enrollment, "state", None) or getattr(
        enrollment, "status", None
    )
    if sequence_col is None or state_col is None:
        return None
    counts: dict[str, dict[str, int]] = {}
    with runtime.db.sessions() as session:
        rows = session.execute(
            select(sequence_col, state_col, func.count()).group_by(
                sequence_col, state_col
            )
        )
        for name, state, n in rows:
            counts.setdefault(str(name), {})[str(state)] = int(n)
    return counts


@router.get("/leak")
def leak_page(request: Request, user: CurrentUser) -> Response:
    """The live Revenue Leak Score, when the insights layer offers it."""
    runtime = request.app.state.runtime
    function = _find("firsttouch.insights", "leak_score_from_store") or _find(
        "firsttouch.insights.live", "leak_score_from_store"
    )
    report, error = None, None
    if function is not None:
        try:
            found = function(runtime)
            # A LeakReport gets its own layout; any other shape is listed.
            report = found if hasattr(found, "layers") else _plain(found)
        except FirsttouchError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - one page must not take the rest down
            log.exception("leak_score.failed")
            error = f"the leak score could not be computed ({type(exc).__name__})"
    return render(
        request,
        "leak.html",
        title="Leak score",
        available=function is not None,
        report=report,
        error=error,
    )


def _find(module_name: str, name: str) -> Any:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    found = getattr(module, name, None)
    return found if callable(found) else None


def _plain(report: Any) -> Any:
    """Any report shape (pydantic, dataclass, mapping) as plain data."""
    if hasattr(report, "model_dump"):
        return report.model_dump(mode="json")
    if hasattr(report, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(report)
    return report


@router.get("/outbox")
def outbox_page(request: Request, user: CurrentUser) -> Response:
    """What the embedded default kept instead of sending."""
    runtime = request.app.state.runtime
    list_outbox = _find("firsttouch.channels.outbox", "list_outbox")
    messages = None
    if list_outbox is not None:
        with runtime.db.sessions() as session:
            messages = list_outbox(session, limit=100)
    return render(request, "outbox.html", title="Outbox", messages=messages)


@router.get("/workspace")
def workspace_page(request: Request, user: CurrentUser) -> Response:
    """The loaded workspace, read-only; the file on disk re-checked now."""
    runtime = request.app.state.runtime
    workspace = runtime.workspace
    problems: list[Any] = []
    if workspace.source_path is not None:
        try:
            load_workspace(workspace.source_path)
        except WorkspaceError as exc:
            problems = exc.problems or [exc]
    return render(
        request,
        "workspace.html",
        title="Workspace",
        ws=workspace,
        problems=problems,
        sections=workspace.model_dump(mode="json", exclude={"templates"}),
    )


@router.get("/jobs")
def jobs_page(request: Request, user: CurrentUser, done: str = "") -> Response:
    runtime = request.app.state.runtime
    queue = JobQueue(runtime.db, runtime.clock)
    return render(
        request,
        "jobs.html",
        title="Jobs",
        counts=queue.counts(),
        lag=queue.lag_seconds(),
        dead=queue.list("dead", 50),
        message="Job queued again." if done == "retried" else None,
    )


@router.post("/jobs/{job_id}/retry", dependencies=[Depends(require_csrf)])
def retry_job(request: Request, job_id: int, user: CurrentUser) -> Response:
    if not user.can_operate:
        return render(
            request,
            "error.html",
            status_code=403,
            title="Not allowed",
            heading="Not allowed",
            detail="Only managers and admins may retry jobs.",
        )
    runtime = request.app.state.runtime
    try:
        JobQueue(runtime.db, runtime.clock).retry(job_id)
    except FirsttouchError as exc:
        return render(
            request,
            "error.html",
            status_code=exc.status,
            title="Not done",
            heading="That job was not retried",
            detail=str(exc),
        )
    return RedirectResponse("/jobs?done=retried", status_code=303)
