"""The one-click links in a rep alert: claim the lead, or bridge a call.

A ``GET`` only shows a button: mail scanners and chat unfurlers fetch links
on their own, and a fetch must never claim a lead or ring a phone. The
button posts back to the same signed URL, which names the rep and the lead,
so the rep needs no login from their phone.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, select_autoescape

from firsttouch.errors import FirsttouchError
from firsttouch.respond.alerts import AlertLinkError, read_link_token
from firsttouch.respond.call_bridge import defer_bridge, start_bridge, voice_channel
from firsttouch.runtime import Runtime
from firsttouch.store.models import Activity, Contact, Inbound
from firsttouch.web.deps import RuntimeDep

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/alerts", tags=["alerts"])

PAGE = Environment(autoescape=select_autoescape(default_for_string=True)).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{ heading }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;
padding:0 1rem}button{font-size:1.1rem;padding:.6rem 1.4rem}</style></head>
<body><main><h1>{{ heading }}</h1>
{% if message %}<p role="status">{{ message }}</p>{% endif %}
{% if button %}<form method="post"><button type="submit">{{ button }}</button></form>
{% endif %}</main></body></html>"""
)


def _page(
    heading: str, message: str = "", button: str = "", status: int = 200
) -> HTMLResponse:
    html = PAGE.render(heading=heading, message=message, button=button)
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _lead(runtime: Runtime, token: str) -> tuple[int, str, str]:
    inbound_id, rep_id = read_link_token(
        runtime.settings.secret_key, runtime.clock, token
    )
    with runtime.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None:
            raise AlertLinkError("this lead no longer exists")
        contact = (
            session.get(Contact, inbound.contact_id) if inbound.contact_id else None
        )
        name = contact.display_name if contact else f"lead {inbound_id}"
    return inbound_id, rep_id, name


@router.get("/claim/{token}", response_class=HTMLResponse)
def claim_page(token: str, runtime: RuntimeDep) -> HTMLResponse:
    """Show the lead and a Claim button."""
    try:
        _, _, name = _lead(runtime, token)
    except AlertLinkError as exc:
        return _page("This link does not work", str(exc), status=exc.status)
    return _page(f"Claim {name}?", "It becomes yours, and the team sees it.", "Claim")


@router.post("/claim/{token}", response_class=HTMLResponse)
def claim(token: str, runtime: RuntimeDep) -> HTMLResponse:
    """Make the link's rep the lead's owner, and log who claimed it."""
    try:
        inbound_id, rep_id, name = _lead(runtime, token)
    except AlertLinkError as exc:
        return _page("This link does not work", str(exc), status=exc.status)
    rep = runtime.workspace.team.rep(rep_id)
    if rep is None:
        return _page(
            "This link does not work", "That rep is no longer on the team.", status=404
        )

    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id)
        assert inbound is not None
        previous = inbound.owner_id
        inbound.owner_id = rep.id
        contact = (
            session.get(Contact, inbound.contact_id) if inbound.contact_id else None
        )
        if contact is not None:
            contact.owner_id = rep.id
        session.add(
            Activity(
                contact_id=inbound.contact_id,
                inbound_id=inbound_id,
                kind="lead.claimed",
                actor=rep.id,
                summary=f"claimed by {rep.name} from an alert",
                details={"previous_owner": previous, "via": "alert_link"},
                occurred_at=now,
                created_at=now,
            )
        )
    log.info("lead.claimed", inbound_id=inbound_id, rep=rep.id, via="alert_link")
    return _page(f"{name} is yours", "Claimed. Call them while it is fresh.")


@router.get("/call/{token}", response_class=HTMLResponse)
def call_page(token: str, runtime: RuntimeDep) -> HTMLResponse:
    """Show the lead and a button that rings the rep, then the buyer."""
    try:
        _, _, name = _lead(runtime, token)
    except AlertLinkError as exc:
        return _page("This link does not work", str(exc), status=exc.status)
    return _page(
        f"Call {name}?", "We ring your phone first, then connect them.", "Call me now"
    )


@router.post("/call/{token}", response_class=HTMLResponse)
def call(token: str, runtime: RuntimeDep) -> HTMLResponse:
    """Start a call bridge for the link's rep."""
    try:
        inbound_id, rep_id, name = _lead(runtime, token)
        # One click is one call: a double click in the same minute is the same.
        attempt = f"click:{runtime.clock.now():%Y%m%dT%H%M}"
        outcome = start_bridge(
            runtime,
            inbound_id,
            voice_channel(runtime),
            rep_id=rep_id,
            attempt=attempt,
            owner_hours=False,
        )
    except AlertLinkError as exc:
        return _page("This link does not work", str(exc), status=exc.status)
    except FirsttouchError as exc:
        log.warning("bridge.click_failed", error=str(exc))
        return _page("The call did not start", str(exc), status=502)

    if outcome.state == "calling":
        return _page(
            f"Calling you now about {name}", "Answer your phone and press 1 to connect."
        )
    if outcome.state == "deferred" and outcome.until is not None:
        defer_bridge(runtime, inbound_id, outcome.until)
        return _page(
            "Not now",
            f"Not a good time to call ({outcome.reason}); we "
            f"will ring you at {outcome.until:%Y-%m-%d %H:%M} UTC.",
        )
    return _page("No call", f"We cannot call this lead: {outcome.reason}.", status=409)
