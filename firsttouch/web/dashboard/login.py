"""Log in and out of the dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from firsttouch.web.accounts import AccountLockedError, LoginRefusedError, authenticate
from firsttouch.web.dashboard.rendering import render
from firsttouch.web.sessions import (
    current_user,
    end_session,
    require_csrf,
    save_session,
    start_login,
)

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//other.host`` or a full URL."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002
    if current_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(
        request,
        "login.html",
        title="Log in",
        next=safe_next(next),
        error=None,
        email="",
    )


@router.post("/login", dependencies=[Depends(require_csrf)])
async def login_submit(request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email", ""))
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "/")))
    runtime = request.app.state.runtime

    try:
        user = authenticate(runtime.db, email, password, runtime.clock)
    except AccountLockedError as exc:
        return render(
            request,
            "login.html",
            status_code=429,
            title="Log in",
            next=target,
            error=str(exc),
            email=email,
        )
    except LoginRefusedError as exc:
        return render(
            request,
            "login.html",
            status_code=401,
            title="Log in",
            next=target,
            error=str(exc),
            email=email,
        )

    start_login(request, user)
    return save_session(request, RedirectResponse(target, status_code=303))


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    end_session(request)
    return save_session(request, RedirectResponse("/login", status_code=303))
