"""Admin pages: API keys for integrations (shown once, stored hashed,
revocable) and the people who may log in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from firsttouch.errors import FirsttouchError, InputError
from firsttouch.store.models import User
from firsttouch.web.accounts import ROLES, create_user
from firsttouch.web.apikeys import create_api_key, list_api_keys, revoke_api_key
from firsttouch.web.dashboard.rendering import render
from firsttouch.web.sessions import CurrentUser, require_csrf

router = APIRouter(include_in_schema=False)

MAX_NAME_LENGTH = 120


def _forbidden(request: Request) -> Response:
    return render(
        request,
        "error.html",
        status_code=403,
        title="Not allowed",
        heading="Not allowed",
        detail="Only admins may manage access.",
    )


def _keys_page(
    request: Request,
    new_key: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    runtime = request.app.state.runtime
    return render(
        request,
        "apikeys.html",
        status_code=status_code,
        title="API keys",
        keys=list_api_keys(runtime.db),
        new_key=new_key,
        error=error,
    )


@router.get("/admin/api-keys")
def api_keys(request: Request, user: CurrentUser) -> Response:
    if not user.is_admin:
        return _forbidden(request)
    return _keys_page(request)


@router.post("/admin/api-keys", dependencies=[Depends(require_csrf)])
async def make_api_key(request: Request, user: CurrentUser) -> Response:
    """Make a key and show it on this one answer; it is never shown again."""
    if not user.is_admin:
        return _forbidden(request)
    name = str((await request.form()).get("name", "")).strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        return _keys_page(
            request,
            error="name the integration this key is for "
            f"(1 to {MAX_NAME_LENGTH} characters)",
            status_code=400,
        )
    runtime = request.app.state.runtime
    key = create_api_key(runtime.db, name, runtime.clock)
    return _keys_page(request, new_key=key)


@router.post("/admin/api-keys/{prefix}/revoke", dependencies=[Depends(require_csrf)])
def revoke_key(request: Request, prefix: str, user: CurrentUser) -> Response:
    if not user.is_admin:
        return _forbidden(request)
    runtime = request.app.state.runtime
    try:
        revoke_api_key(runtime.db, prefix, runtime.clock)
    except FirsttouchError as exc:
        return _keys_page(request, error=str(exc), status_code=exc.status)
    return RedirectResponse("/admin/api-keys", status_code=303)


def _users_page(
    request: Request,
    error: str | None = None,
    created: str | None = None,
    status_code: int = 200,
) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.sessions() as session:
        users = list(session.scalars(select(User).order_by(User.email)))
    return render(
        request,
        "users.html",
        status_code=status_code,
        title="Users",
        users=users,
        roles=ROLES,
        reps=runtime.workspace.team.reps,
        error=error,
        created=created,
    )


@router.get("/admin/users")
def users(request: Request, user: CurrentUser) -> Response:
    if not user.is_admin:
        return _forbidden(request)
    return _users_page(request)


@router.post("/admin/users", dependencies=[Depends(require_csrf)])
async def add_user(request: Request, user: CurrentUser) -> Response:
    if not user.is_admin:
        return _forbidden(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    runtime = request.app.state.runtime
    try:
        made = create_user(
            runtime.db,
            form.get("email", ""),
            form.get("password", ""),
            name=form.get("name") or None,
            role=form.get("role", "rep"),
            rep_id=form.get("rep_id") or None,
            reps=[r.id for r in runtime.workspace.team.reps],
            clock=runtime.clock,
        )
    except InputError as exc:
        return _users_page(request, error=str(exc), status_code=400)
    return _users_page(request, created=made.email)


@router.post("/admin/users/{user_id}/unlock", dependencies=[Depends(require_csrf)])
def unlock_user(request: Request, user_id: int, user: CurrentUser) -> Response:
    """Lift a lock-out before it runs out (the person called the admin)."""
    if not user.is_admin:
        return _forbidden(request)
    runtime = request.app.state.runtime
    with runtime.db.transaction() as session:
        found = session.get(User, user_id)
        if found is not None:
            found.locked_until = None
            found.failed_logins = 0
    return RedirectResponse("/admin/users", status_code=303)
