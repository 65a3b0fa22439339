"""Respond's endpoints: one-click unsubscribe and SMS delivery status.

``GET /u/{token}`` shows a page with one button; it changes nothing, because
mail scanners and link previews fetch every URL in a message. ``POST
/u/{token}`` unsubscribes: it is what the button sends and what a mail
provider sends for RFC 8058 one-click (body ``List-Unsubscribe=One-Click``,
no cookies), so it needs nothing but the signed token and answers 200.

``POST /respond/twilio/status`` takes Twilio's message status callbacks,
checks ``X-Twilio-Signature`` with the SDK's validator against the public
URL (a form or a JSON body, as capture does), records the status on the
touch and answers only after the commit.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from firsttouch.capture.providers.twilio_signature import (
    HEADER,
    SIGNATURE_SETTINGS_HEADER,
    public_request_url,
    read_signed_params,
)
from firsttouch.errors import NotFoundError
from firsttouch.logs import get_logger, mask_email, mask_phone
from firsttouch.respond.delivery import apply_status
from firsttouch.respond.unsubscribe import read_token, unsubscribe
from firsttouch.web.deps import RuntimeDep
from firsttouch.workspace.channels import ref_name

log = get_logger(__name__)
router = APIRouter(tags=["respond"])

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 34rem; margin: 3rem auto;">
<main><h1>{title}</h1>{body}</main></body></html>
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = PAGE.format(title=escape(title), body=body)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _masked(channel: str, address: str) -> str:
    return mask_email(address) if channel == "email" else mask_phone(address)


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, runtime: RuntimeDep) -> HTMLResponse:
    """Ask to confirm; a GET never unsubscribes (scanners fetch links)."""
    target = read_token(runtime.settings.secret_key, token)
    company = escape(runtime.workspace.company.name)
    who = escape(_masked(target.channel, target.address))
    body = (
        f"<p>Stop all email from {company} to {who}?</p>"
        f'<form method="post" action="/u/{escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", body)


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe_now(token: str, runtime: RuntimeDep) -> HTMLResponse:
    """Unsubscribe at once: the button's POST and RFC 8058 one-click alike."""
    target = read_token(runtime.settings.secret_key, token)
    with runtime.db.transaction() as session:
        unsubscribe(session, target, source="unsubscribe_link", now=runtime.clock.now())
    log.info(
        "consent.unsubscribed",
        channel=target.channel,
        address=_masked(target.channel, target.address),
    )
    company = escape(runtime.workspace.company.name)
    return _page(
        "You are unsubscribed",
        f"<p>{company} will send no more email to "
        f"{escape(_masked(target.channel, target.address))}.</p>",
    )


@router.post("/respond/twilio/status")
async def twilio_status(request: Request, runtime: RuntimeDep) -> Response:
    """Record a Twilio message status callback on the touch it belongs to."""
    twilio = runtime.workspace.channels.twilio
    if twilio is None:
        raise NotFoundError("no Twilio channel is configured in the workspace")

    url = public_request_url(
        runtime.settings.public_url, request.url.path, request.url.query
    )
    form = read_signed_params(
        runtime.settings.secret(ref_name(twilio.auth_token)),
        url,
        await request.body(),
        request.headers.get("content-type"),
        request.headers.get(HEADER),
        request.headers.get(SIGNATURE_SETTINGS_HEADER),
    ).as_dict()

    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if not sid or not status:
        # Twilio retries on errors; a callback we cannot use is still answered.
        log.warning("touch.status_unreadable", fields=sorted(form))
        return Response(status_code=204)
    with runtime.db.transaction() as session:
        apply_status(
            session, sid, status, form.get("ErrorCode") or None, runtime.clock.now()
        )
    return Response(status_code=204)
