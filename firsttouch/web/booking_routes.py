"""The booking page: ``GET /book/{token}`` lists slots, ``POST`` confirms one.

Once booked, the same link shows the meeting, with a form to cancel it
(``POST /book/{token}/cancel``) and a way to pick another time
(``GET /book/{token}?change=1``, then ``POST /book/{token}/reschedule``).
A buyer with no email address on file, or behind a link with no contact
at all (a lead from a call or a text), is asked for one with the slot, so
the invitation reaches them too.

Server-rendered with Jinja2 and autoescaping on, so a lead's own name or
company can never inject markup. The page works without JavaScript: radio
buttons grouped by day in fieldsets, a time-zone chooser, alerts announced
through ``role="alert"``.

The form is protected against cross-site submission twice over: a signed
double-submit token (the same value in a ``SameSite=Lax`` cookie and a
hidden field, bound to this booking link), and, when the browser sends one,
an ``Origin`` that must be our own. Every form on these pages (confirm,
cancel, reschedule) passes the same check.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape

from firsttouch.logs import mask_email
from firsttouch.respond.availability import CalendarError, Slot
from firsttouch.respond.booking import (
    BookingClaims,
    BookingError,
    BookingLinkError,
    BusySource,
    MeetingCancelledError,
    SlotTakenError,
    buyer_zone,
    calendar_busy,
    cancel_meeting,
    confirm_slot,
    existing_meeting,
    open_slots,
    read_token,
    reschedule_meeting,
    resolve_owner,
)
from firsttouch.respond.buyer_email import (
    BuyerEmailError,
    meeting_invite_failed,
    read_buyer_email,
    undelivered_email,
)
from firsttouch.respond.invites import invite_buyer, invite_calendar
from firsttouch.runtime import Runtime
from firsttouch.store.models import Contact, Meeting
from firsttouch.web.deps import RuntimeDep

log = structlog.get_logger(__name__)

router = APIRouter(tags=["booking"])

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates" / "booking"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
CSRF_COOKIE = "ft_book_csrf"
CSRF_SALT = "firsttouch.booking.csrf.v1"
COMMON_ZONES = (
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Chicago",
    "America/New_York",
    "America/Toronto",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Stockholm",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(**context)
    response = HTMLResponse(html, status_code=status)
    # The page holds a personal link: keep it out of caches and other frames.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _problem(runtime: Runtime, status: int, heading: str, message: str) -> HTMLResponse:
    return _render(
        "problem.html",
        status,
        company=runtime.workspace.company.name,
        heading=heading,
        message=message,
    )


def _busy(runtime: Runtime) -> BusySource:
    # One busy source per runtime, so its calendar cache outlives a request.
    source: BusySource = runtime.services.setdefault(
        "busy_source", calendar_busy(runtime.workspace)
    )
    return source


def _csrf_serializer(runtime: Runtime) -> URLSafeSerializer:
    return URLSafeSerializer(runtime.settings.secret_key.reveal(), salt=CSRF_SALT)


def _link_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _new_csrf(runtime: Runtime, token: str) -> str:
    return str(
        _csrf_serializer(runtime).dumps(
            [secrets.token_urlsafe(16), _link_digest(token)]
        )
    )


def _csrf_ok(runtime: Runtime, request: Request, token: str, form_value: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, form_value):
        return False
    try:
        _, digest = _csrf_serializer(runtime).loads(form_value)
    except (BadSignature, ValueError):
        return False
    return bool(digest == _link_digest(token))


def _origin_ok(runtime: Runtime, request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    allowed = {urlsplit(runtime.settings.public_url).netloc, request.url.netloc}
    return urlsplit(origin).netloc in allowed


def _refused(
    runtime: Runtime, request: Request, token: str, csrf: str
) -> HTMLResponse | None:
    """The 403 page for a form that fails the CSRF or origin check, else None."""
    if _origin_ok(runtime, request) and _csrf_ok(runtime, request, token, csrf):
        return None
    # The route's template, never the URL: the URL holds the buyer's link.
    route = getattr(request.scope.get("route"), "path", "/book/{token}")
    log.warning("booking.csrf_rejected", path=route)
    return _problem(
        runtime,
        403,
        "Please try again",
        "This form expired or came from another site. Reload the "
        "booking page and try again.",
    )


def _with_csrf(runtime: Runtime, response: HTMLResponse, csrf: str) -> HTMLResponse:
    secure = runtime.settings.public_url.startswith("https://")
    response.set_cookie(
        CSRF_COOKIE, csrf, path="/book", httponly=True, samesite="lax", secure=secure
    )
    return response


def _calendar_down(exc: CalendarError, runtime: Runtime) -> HTMLResponse:
    log.warning("booking.calendar_unavailable", error=str(exc))
    return _problem(
        runtime,
        503,
        "Booking is paused",
        "We cannot read the calendar right now; please try again in a few minutes.",
    )


def _parse_slot(slot: str) -> datetime | None:
    try:
        start = datetime.fromisoformat(slot.replace("Z", "+00:00"))
    except ValueError:
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start.astimezone(UTC)


def _days(slots: list[Slot], zone: str) -> list[dict[str, Any]]:
    """Group slots by the buyer's local day, labelled in the buyer's zone."""
    local = ZoneInfo(zone)
    days: dict[str, dict[str, Any]] = {}
    for slot in slots:
        start = slot.start.astimezone(local)
        day = days.setdefault(
            start.date().isoformat(), {"label": f"{start:%A %d %B}", "slots": []}
        )
        day["slots"].append(
            {
                "value": slot.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "label": f"{start:%H:%M}",
            }
        )
    return list(days.values())


def _load(
    runtime: Runtime, token: str
) -> tuple[BookingClaims, Contact | None, Meeting | None]:
    claims = read_token(runtime.settings.secret_key, runtime.clock, token)
    resolve_owner(runtime.workspace, claims)
    with runtime.db.sessions() as session:
        contact = session.get(Contact, claims.contact_id) if claims.contact_id else None
        meeting = existing_meeting(session, claims)
        session.expunge_all()
    return claims, contact, meeting


def _slots_page(
    runtime: Runtime,
    token: str,
    claims: BookingClaims,
    contact: Contact | None,
    zone_asked: str | None,
    error: str | None = None,
    status: int = 200,
    moving: Meeting | None = None,
) -> HTMLResponse:
    """The slots to pick from: to book, or (``moving``) to move a meeting to."""
    workspace = runtime.workspace
    owner = resolve_owner(workspace, claims)
    zone = buyer_zone(zone_asked, contact, owner)
    # Nothing said where the buyer is: let their browser say, once.
    guessed = not zone_asked and not (contact and contact.timezone)
    with runtime.db.sessions() as session:
        slots = open_slots(
            session,
            workspace,
            owner,
            runtime.clock.now(),
            _busy(runtime),
            moving=moving.id if moving else None,
        )
    if moving is not None:
        # Its own time is free to the meeting, but not a choice to move to.
        slots = [slot for slot in slots if slot.start != moving.starts_at]

    csrf = _new_csrf(runtime, token)
    zones = sorted({zone, owner.timezone, *COMMON_ZONES})
    response = _render(
        "slots.html",
        status,
        company=workspace.company.name,
        owner_name=owner.name,
        buyer_name=contact.first_name if contact else None,
        minutes=workspace.respond.booking.meeting_minutes,
        horizon=workspace.respond.booking.horizon_days,
        zone=zone,
        zones=zones,
        guessed=guessed,
        days=_days(slots, zone),
        page_url=f"/book/{token}",
        action_url=f"/book/{token}/reschedule" if moving else f"/book/{token}",
        moving=_when(moving) if moving else None,
        meeting_id=moving.id if moving else None,
        # Without an address on file the invitation could only reach the rep.
        ask_email=moving is None and _needs_email(runtime, contact),
        bounced=_bounced(runtime, contact),
        csrf=csrf,
        error=error,
    )
    return _with_csrf(runtime, response, csrf)


def _needs_email(runtime: Runtime, contact: Contact | None) -> bool:
    """True when nothing on file says where the buyer's invitation can go."""
    if contact is None or not contact.email:
        return True
    return _bounced(runtime, contact) is not None


def _bounced(runtime: Runtime, contact: Contact | None) -> str | None:
    """The masked address on file when the last email to it failed for good."""
    if contact is None or not contact.email:
        return None
    with runtime.db.sessions() as session:
        failed = undelivered_email(session, contact)
    return mask_email(contact.email) if failed is not None else None


def _when(meeting: Meeting) -> str:
    start = meeting.starts_at.astimezone(ZoneInfo(meeting.buyer_timezone))
    return f"{start:%A %d %B %Y at %H:%M} ({meeting.buyer_timezone})"


def _booked_page(
    runtime: Runtime, token: str, meeting: Meeting, heading: str = "You are booked"
) -> HTMLResponse:
    owner = runtime.workspace.team.rep(meeting.owner_id)
    with runtime.db.sessions() as session:
        failed = meeting_invite_failed(session, meeting)
    csrf = _new_csrf(runtime, token)
    response = _render(
        "booked.html",
        company=runtime.workspace.company.name,
        owner_name=owner.name if owner else "us",
        heading=heading,
        when=_when(meeting),
        ics_url=f"/book/{token}/meeting/{meeting.id}.ics",
        change_url=f"/book/{token}?change=1",
        cancel_url=f"/book/{token}/cancel",
        meeting_id=meeting.id,
        # The buyer's copy could not be delivered: say why, and how to fix it.
        undelivered=failed.error if failed is not None else None,
        csrf=csrf,
    )
    return _with_csrf(runtime, response, csrf)


def _cancelled_page(runtime: Runtime, token: str, meeting: Meeting) -> HTMLResponse:
    owner = runtime.workspace.team.rep(meeting.owner_id)
    return _render(
        "cancelled.html",
        company=runtime.workspace.company.name,
        owner_name=owner.name if owner else "us",
        when=_when(meeting),
        page_url=f"/book/{token}",
    )


@router.get("/book/{token}", response_class=HTMLResponse)
def booking_page(
    token: str,
    request: Request,
    runtime: RuntimeDep,
    tz: str | None = None,
    change: str | None = None,
) -> Response:
    """Show the free slots of the link's owner in the buyer's time zone.

    A link that booked already shows its meeting; with ``change`` it shows
    the slots to move the meeting to.
    """
    external = runtime.workspace.respond.booking.external_url
    if external:
        # The team books on Cal.com or Calendly; an old link still lands there.
        return RedirectResponse(external, status_code=302)
    try:
        claims, contact, meeting = _load(runtime, token)
        if meeting is not None and change:
            return _slots_page(runtime, token, claims, contact, tz, moving=meeting)
        if meeting is not None:
            return _booked_page(runtime, token, meeting)
        return _slots_page(runtime, token, claims, contact, tz)
    except BookingLinkError as exc:
        return _problem(runtime, exc.status, "This link does not work", str(exc))
    except CalendarError as exc:
        return _calendar_down(exc, runtime)


@router.post("/book/{token}", response_class=HTMLResponse)
def confirm_booking(
    token: str,
    request: Request,
    runtime: RuntimeDep,
    slot: Annotated[str, Form()] = "",
    tz: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Book the chosen slot and show the confirmation."""
    refused = _refused(runtime, request, token, csrf)
    if refused is not None:
        return refused
    try:
        claims, contact, meeting = _load(runtime, token)
        if meeting is not None:
            return _booked_page(runtime, token, meeting)
        owner = resolve_owner(runtime.workspace, claims)
        zone = buyer_zone(tz, contact, owner)
        start = _parse_slot(slot)
        address, error = None, None
        if start is None:
            error = "Please pick one of the times below."
        elif _needs_email(runtime, contact):
            try:
                address = read_buyer_email(email)
            except BuyerEmailError as exc:
                error = str(exc)
        if error is not None or start is None:
            return _slots_page(
                runtime, token, claims, contact, tz, error=error, status=400
            )
        try:
            meeting = confirm_slot(
                runtime.db,
                runtime.workspace,
                runtime.clock,
                claims,
                start,
                zone,
                _busy(runtime),
                buyer_email=address,
            )
        except SlotTakenError as exc:
            return _slots_page(
                runtime, token, claims, contact, tz, error=str(exc), status=exc.status
            )
        return _booked_page(runtime, token, meeting)
    except BookingError as exc:
        return _problem(runtime, exc.status, "This link does not work", str(exc))
    except CalendarError as exc:
        return _calendar_down(exc, runtime)


@router.post("/book/{token}/cancel", response_class=HTMLResponse)
def cancel_booking(
    token: str,
    request: Request,
    runtime: RuntimeDep,
    meeting: Annotated[int, Form()] = 0,
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Cancel the link's meeting; both sides get the cancellation."""
    refused = _refused(runtime, request, token, csrf)
    if refused is not None:
        return refused
    try:
        claims = read_token(runtime.settings.secret_key, runtime.clock, token)
        resolve_owner(runtime.workspace, claims)
        cancelled, _ = cancel_meeting(
            runtime.db, runtime.clock, meeting, actor="buyer", claims=claims
        )
    except BookingError as exc:
        return _problem(runtime, exc.status, "This link does not work", str(exc))
    return _cancelled_page(runtime, token, cancelled)


@router.post("/book/{token}/reschedule", response_class=HTMLResponse)
def reschedule_booking(
    token: str,
    request: Request,
    runtime: RuntimeDep,
    meeting: Annotated[int, Form()] = 0,
    slot: Annotated[str, Form()] = "",
    tz: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Move the link's meeting to the chosen slot; both sides get the update."""
    refused = _refused(runtime, request, token, csrf)
    if refused is not None:
        return refused
    try:
        claims, contact, current = _load(runtime, token)
        if current is None:
            raise MeetingCancelledError(
                "this meeting was cancelled; please book a new time"
            )
        owner = resolve_owner(runtime.workspace, claims)
        start = _parse_slot(slot)
        if start is None:
            return _slots_page(
                runtime,
                token,
                claims,
                contact,
                tz,
                error="Please pick one of the times below.",
                status=400,
                moving=current,
            )
        try:
            moved = reschedule_meeting(
                runtime.db,
                runtime.workspace,
                runtime.clock,
                claims,
                meeting,
                start,
                buyer_zone(tz, contact, owner),
                _busy(runtime),
            )
        except SlotTakenError as exc:
            return _slots_page(
                runtime,
                token,
                claims,
                contact,
                tz,
                error=str(exc),
                status=exc.status,
                moving=current,
            )
        return _booked_page(runtime, token, moved, heading="Your meeting has moved")
    except BookingLinkError as exc:
        return _problem(runtime, exc.status, "This link does not work", str(exc))
    except BookingError as exc:
        return _problem(runtime, exc.status, "This meeting cannot be moved", str(exc))
    except CalendarError as exc:
        return _calendar_down(exc, runtime)


@router.get("/book/{token}/meeting/{meeting_id}.ics")
def meeting_calendar_file(token: str, meeting_id: int, runtime: RuntimeDep) -> Response:
    """Return the booked meeting as an ICS file, for calendars without invites."""
    try:
        claims = read_token(runtime.settings.secret_key, runtime.clock, token)
    except BookingLinkError as exc:
        return _problem(runtime, exc.status, "This link does not work", str(exc))
    with runtime.db.sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        contact = session.get(Contact, claims.contact_id) if claims.contact_id else None
        session.expunge_all()
    owner = runtime.workspace.team.rep(claims.owner_id)
    # The link only opens its own meeting, never another buyer's.
    if (
        meeting is None
        or owner is None
        or meeting.owner_id != claims.owner_id
        or meeting.inbound_id != claims.inbound_id
    ):
        return _problem(
            runtime, 404, "No such meeting", "This link does not book that meeting."
        )
    buyer = invite_buyer(meeting, contact)
    ics = invite_calendar(meeting, owner, buyer, runtime.workspace, runtime.clock.now())
    return Response(
        ics,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="meeting.ics"',
            "Cache-Control": "no-store",
        },
    )
