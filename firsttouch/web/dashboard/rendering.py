"""Jinja2 for the dashboard: autoescaping on for every template, plus the
few filters the pages share. Every value a lead supplied reaches the page
through autoescaping; no template marks lead data ``|safe``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

from firsttouch.web.sessions import csrf_token, current_user, save_session

TEMPLATES = Path(__file__).parent / "templates"

NAV = (
    ("/", "Queue"),
    ("/sla", "SLA board"),
    ("/sequences", "Sequences"),
    ("/leak", "Leak score"),
    ("/outbox", "Outbox"),
    ("/workspace", "Workspace"),
    ("/jobs", "Jobs"),
)


def duration(seconds: float) -> str:
    """A short human duration: 45s, 12m, 3h 05m, 2d 4h."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def countdown(due: datetime | None, now: datetime, label: str = "") -> str:
    """'follow-up due in 4m' or 'first touch overdue 12m' (the page's script
    keeps it ticking); ``label`` names the clock so two clocks never read as one."""
    if due is None:
        return "no SLA"
    left = (due - now).total_seconds()
    prefix = f"{label} " if label else ""
    if left >= 0:
        return f"{prefix}due in {duration(left)}"
    return f"{prefix}overdue {duration(left)}"


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    return f"{duration((now - moment).total_seconds())} ago"


def utc(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = utc
    env.filters["duration"] = duration
    env.globals["countdown"] = countdown
    env.globals["ago"] = ago
    return env


ENV = _environment()


def render(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template`` with the user, CSRF token and nav; save the session."""
    runtime = request.app.state.runtime
    context.setdefault("now", runtime.clock.now())
    context.setdefault("title", "")
    html = ENV.get_template(template).render(
        request_path=request.url.path,
        user=current_user(request),
        csrf_token=csrf_token(request),
        nav=NAV,
        company=runtime.workspace.company.name,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    # Our own script and style only; nothing inline may run.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return save_session(request, response)  # type: ignore[return-value]
