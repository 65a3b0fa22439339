"""``POST /capture/forms/{form_key}``: the endpoint a team's web forms post to.

Takes JSON, urlencoded and multipart bodies. Answers 202 with the inbound
id once the inbound is committed, or 303 to the form's thank-you URL when
a plain HTML form posted (the browser then lands on the team's page). A
filled honeypot gets the same answer and stores nothing, so bots learn
nothing. Per-IP rate limit (shared by the web processes of a machine:
``web.rate_limits``), CORS for the form's allowed origins, and an
optional HMAC signature (``X-Firsttouch-Signature: sha256=<hex>``).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.datastructures import UploadFile

from firsttouch.capture.accept import Earlier
from firsttouch.capture.forms import (
    form_to_event,
    honeypot_tripped,
    submission_digest,
    submission_keys,
    verify_signature,
)
from firsttouch.errors import FirsttouchError, InputError, NotFoundError
from firsttouch.logs import get_logger
from firsttouch.runtime import Runtime
from firsttouch.web.deps import get_accept_writer, get_runtime
from firsttouch.web.errors import error_body
from firsttouch.web.rate_limits import RateLimiter
from firsttouch.workspace.channels import SECRET_REF, ref_name
from firsttouch.workspace.routing import Form

router = APIRouter(tags=["capture"])
log = get_logger(__name__)

CORS_HEADERS = "Content-Type, X-Firsttouch-Signature, Idempotency-Key"


class RateLimitedError(FirsttouchError):
    code = "rate_limited"
    status = 429


class OriginRefusedError(FirsttouchError):
    code = "origin_refused"
    status = 403


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.form_rate_limiter
    return limiter


def _form(runtime: Runtime, form_key: str) -> Form:
    form = runtime.workspace.forms.get(form_key)
    if form is None:
        raise NotFoundError(f"no form {form_key!r} in the workspace (forms: section)")
    return form


def _cors_headers(form: Form, origin: str | None) -> dict[str, str]:
    if not origin or origin not in form.allowed_origins:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _check_origin(form: Form, origin: str | None) -> None:
    # Browsers send Origin on cross-site posts; a server-side post has none.
    if origin and form.allowed_origins and origin not in form.allowed_origins:
        raise OriginRefusedError(
            f"origin {origin} may not post this form; add it to allowed_origins"
        )


SNIPPET = """<!-- firsttouch form "{name}": paste into your page -->
<form action="{action}" method="post" accept-charset="utf-8">
  <label>Name <input name="name" autocomplete="name" required></label>
  <label>Work email
    <input name="email" type="email" autocomplete="email" required></label>
  <label>Phone <input name="phone" type="tel" autocomplete="tel"></label>
  <label>Company <input name="company" autocomplete="organization"></label>
  <label>How can we help? <textarea name="message"></textarea></label>
  <div style="position:absolute;left:-10000px" aria-hidden="true">
    <input name="{honeypot}" tabindex="-1" autocomplete="off">
  </div>
  <input type="hidden" name="page_url">
  <button type="submit">Send</button>
</form>
<script>
  // Keep the page address (and its UTM parameters) with the submission.
  document.currentScript.previousElementSibling.page_url.value = location.href;
</script>
"""


@router.get("/capture/forms/{form_key}/snippet", response_class=HTMLResponse)
async def form_snippet(form_key: str, request: Request) -> HTMLResponse:
    """Return a plain HTML form for this workspace form, ready to paste."""
    runtime = get_runtime(request)
    form = _form(runtime, form_key)
    action = f"{runtime.settings.public_url.rstrip('/')}/capture/forms/{form_key}"
    html = SNIPPET.format(
        name=escape(form.name),
        action=escape(action, quote=True),
        honeypot=escape(form.honeypot or "website_url", quote=True),
    )
    return HTMLResponse(html, media_type="text/plain; charset=utf-8")


@router.options("/capture/forms/{form_key}")
async def form_preflight(form_key: str, request: Request) -> Response:
    """Answer the browser's CORS preflight for an allowed origin."""
    form = _form(get_runtime(request), form_key)
    origin = request.headers.get("origin")
    _check_origin(form, origin)
    headers = _cors_headers(form, origin)
    headers.update(
        {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": "600",
        }
    )
    return Response(status_code=204, headers=headers)


@router.post("/capture/forms/{form_key}", status_code=202)
async def submit_form(form_key: str, request: Request) -> Response:
    """Capture one form submission; 202 (or 303) only after it is committed."""
    runtime = get_runtime(request)
    form = _form(runtime, form_key)
    origin = request.headers.get("origin")
    cors = _cors_headers(form, origin)
    try:
        _check_origin(form, origin)
        return await _submit(runtime, request, form_key, form, cors)
    except FirsttouchError as exc:
        field = exc.field if isinstance(exc, InputError) else None
        headers = dict(cors)
        if isinstance(exc, RateLimitedError):
            headers["Retry-After"] = "60"
        if _from_a_browser_form(request):
            return _error_page(str(exc), exc.status, headers)
        return JSONResponse(
            error_body(exc.code, str(exc), field),
            status_code=exc.status,
            headers=headers,
        )


def _from_a_browser_form(request: Request) -> bool:
    """A plain HTML form posted by a person's browser, which cannot show JSON."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    wants_html = "text/html" in request.headers.get("accept", "")
    return wants_html and ctype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    )


def _error_page(message: str, status: int, headers: dict[str, str]) -> HTMLResponse:
    """Say what is wrong in words the visitor can act on (escaped: it quotes them)."""
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Your form was not sent</title></head><body>"
        "<h1>Your form was not sent</h1>"
        f'<p role="alert">{escape(message)}</p>'
        "<p>Use your browser's Back button to return to the form, correct it "
        "and send it again.</p></body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=headers)


async def _submit(
    runtime: Runtime,
    request: Request,
    form_key: str,
    form: Form,
    cors: dict[str, str],
) -> Response:
    body = await request.body()
    if form.hmac_secret:
        verify_signature(
            _secret(runtime, form.hmac_secret),
            body,
            request.headers.get("x-firsttouch-signature"),
        )

    client = request.client.host if request.client else "unknown"
    now = runtime.clock.now()
    if not _limiter(request).allow((form_key, client), form.rate_limit_per_minute, now):
        log.warning("form.rate_limited", form=form_key, client=client)
        raise RateLimitedError(
            f"more than {form.rate_limit_per_minute} submissions a minute from "
            "this address; try again in a minute"
        )

    data, files, is_html_form = await _read_body(request, body)
    if honeypot_tripped(form, data):
        log.info("form.honeypot_tripped", form=form_key, client=client)
        return _answer(form, is_html_form, None, False, cors)

    digest = request.headers.get("idempotency-key") or submission_digest(
        form_key, data, client
    )
    key, previous, since = submission_keys(digest, now)
    event = form_to_event(
        form_key,
        form,
        data,
        default_region=runtime.workspace.routing.default_region,
        referrer=request.headers.get("referer"),
        files=files,
        dedupe_key=key,
        raw=body.decode("utf-8", errors="replace"),
    )
    # The writer checks the previous bucket's key in the same transaction
    # as the insert: no read of our own, no thread hop.
    (result,) = await get_accept_writer(request).accept(
        [event], earlier=[Earlier(previous, since)]
    )
    return _answer(form, is_html_form, result.inbound_id, result.duplicate, cors)


def _secret(runtime: Runtime, value: str) -> str:
    if SECRET_REF.match(value):
        return runtime.settings.secret(ref_name(value)).reveal()
    return value


async def _read_body(
    request: Request, body: bytes
) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
    """Parse by content type; return (fields, file metadata, plain HTML form?)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("application/json", "text/json") or ctype.endswith("+json"):
        try:
            data = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"body is not valid JSON: {exc}") from exc
        except RecursionError:
            raise InputError(
                "JSON body is nested too deeply; send a flat object of form fields"
            ) from None
        if not isinstance(data, dict):
            raise InputError("JSON body must be an object of field names to values")
        return data, [], False

    if ctype == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                "form body is not UTF-8; set accept-charset=utf-8"
            ) from exc
        return _fold(parse_qsl(text, keep_blank_values=True)), [], True

    if ctype == "multipart/form-data":
        try:
            parsed = await request.form()
        except Exception as exc:  # noqa: BLE001 - any multipart parser failure is a 400
            raise InputError(f"multipart body cannot be read: {exc}") from exc
        pairs: list[tuple[str, Any]] = []
        files: list[dict[str, Any]] = []
        for name, value in parsed.multi_items():
            if isinstance(value, UploadFile):
                files.append(
                    {
                        "field": name,
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": value.size,
                    }
                )
            else:
                pairs.append((name, value))
        return _fold(pairs), files, True

    raise InputError(
        f"unsupported content type {ctype or '(none)'}; send application/json, "
        "application/x-www-form-urlencoded or multipart/form-data"
    )


def _fold(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated name (checkboxes) keeps every value, in order.
    data: dict[str, Any] = {}
    for name, value in pairs:
        if name in data:
            existing = data[name]
            data[name] = (
                [*existing, value] if isinstance(existing, list) else [existing, value]
            )
        else:
            data[name] = value
    return data


def _answer(
    form: Form,
    is_html_form: bool,
    inbound_id: int | None,
    duplicate: bool,
    cors: dict[str, str],
) -> Response:
    if is_html_form and form.thank_you_url:
        return RedirectResponse(form.thank_you_url, status_code=303, headers=cors)
    body: dict[str, Any] = {"status": "accepted"}
    if inbound_id is not None:
        body.update({"inbound_id": inbound_id, "duplicate": duplicate})
    return JSONResponse(body, status_code=202, headers=cors)
