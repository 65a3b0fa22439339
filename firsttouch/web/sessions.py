"""Dashboard sessions: a signed cookie, a CSRF token bound to it, the user.

The cookie holds no secret worth stealing: a random nonce, the user id and a
fingerprint of the user's password hash, signed with ``FIRSTTOUCH_SECRET_KEY``
by itsdangerous and refused after ``SESSION_MAX_AGE``. Changing a password
changes the fingerprint, which ends every session of that user. The cookie
is HttpOnly and SameSite=Lax always, and Secure whenever the public URL (or
the request) is https.

Every visitor gets a nonce before logging in, so the login form carries a
CSRF token too; logging in issues a fresh nonce (no session fixation). The
CSRF token is an HMAC of the nonce, sent back as the ``csrf_token`` form
field of every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from firsttouch.store.models import User

COOKIE_NAME = "ft_session"
SESSION_MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class DashboardUser:
    """The logged-in person, detached from any database session."""

    id: int
    email: str
    name: str
    role: str
    rep_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_operate(self) -> bool:
        """Managers and admins may retry jobs and see the whole team's figures."""
        return self.role in ("admin", "manager")


@dataclass
class SessionState:
    nonce: str
    user_id: int | None = None
    fingerprint: str = ""
    dirty: bool = False


def password_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


# The built-in development key is public, so a cookie signed with it could be
# forged by anyone. Settings loaded from the environment never carry it (an
# installation makes its own key); a runtime built in code with the default
# Settings signs sessions with a key made at start-up instead.
DEV_SECRET = "dev-insecure-key"  # noqa: S105 - the known-bad default we refuse
_PROCESS_SECRET = secrets.token_urlsafe(32)


def _secret_text(request: Request) -> str:
    configured = str(request.app.state.runtime.settings.secret_key.reveal())
    return _PROCESS_SECRET if configured in ("", DEV_SECRET) else configured


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        _secret_text(request), salt="firsttouch.dashboard.session"
    )


def _secret(request: Request) -> bytes:
    return _secret_text(request).encode()


def load_session(request: Request) -> SessionState:
    """Return this request's session, starting a fresh one if there is none."""
    cached = getattr(request.state, "dashboard_session", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]

    state = None
    raw = request.cookies.get(COOKIE_NAME)
    if raw:
        try:
            data = _serializer(request).loads(raw, max_age=SESSION_MAX_AGE)
            state = SessionState(
                nonce=str(data["n"]),
                user_id=data.get("u"),
                fingerprint=str(data.get("p", "")),
            )
        except (BadSignature, KeyError, TypeError):
            state = None
    if state is None:
        state = SessionState(nonce=secrets.token_urlsafe(16), dirty=True)
    request.state.dashboard_session = state
    return state


def start_login(request: Request, user: User) -> None:
    """Bind the session to ``user`` under a new nonce."""
    state = load_session(request)
    state.nonce = secrets.token_urlsafe(16)
    state.user_id = user.id
    state.fingerprint = password_fingerprint(user.password_hash)
    state.dirty = True


def end_session(request: Request) -> None:
    state = load_session(request)
    state.nonce = secrets.token_urlsafe(16)
    state.user_id = None
    state.fingerprint = ""
    state.dirty = True


def _is_https(request: Request) -> bool:
    public_url = request.app.state.runtime.settings.public_url
    return public_url.startswith("https://") or request.url.scheme == "https"


def save_session(request: Request, response: Response) -> Response:
    """Write the session cookie onto ``response`` when it changed."""
    state = load_session(request)
    if state.dirty:
        value = _serializer(request).dumps(
            {"n": state.nonce, "u": state.user_id, "p": state.fingerprint}
        )
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=_is_https(request),
            path="/",
        )
    return response


def csrf_token(request: Request) -> str:
    """The token every form of this session must send back."""
    nonce = load_session(request).nonce
    return hmac.new(
        _secret(request), f"csrf:{nonce}".encode(), hashlib.sha256
    ).hexdigest()


async def require_csrf(request: Request) -> None:
    """Refuse a POST whose form lacks this session's CSRF token (403)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise HTTPException(
            status_code=403,
            detail="this form is missing its security token or it has expired; "
            "reload the page and try again",
        )


def current_user(request: Request) -> DashboardUser | None:
    """Return the logged-in user, or None."""
    cached = getattr(request.state, "dashboard_user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]

    state = load_session(request)
    if state.user_id is None:
        return None
    runtime = request.app.state.runtime
    with runtime.db.sessions() as session:
        user = session.get(User, state.user_id)
    if user is None or password_fingerprint(user.password_hash) != state.fingerprint:
        return None
    found = DashboardUser(
        id=user.id, email=user.email, name=user.name, role=user.role, rep_id=user.rep_id
    )
    request.state.dashboard_user = found
    return found


def require_user(request: Request) -> DashboardUser:
    """The logged-in user; anyone else is sent to the login page (303)."""
    user = current_user(request)
    if user is None:
        target = request.url.path
        raise HTTPException(
            status_code=303,
            detail="log in first",
            headers={"Location": f"/login?next={target}"},
        )
    return user


# The logged-in user as a route parameter: ``user: CurrentUser``.
CurrentUser = Annotated[DashboardUser, Depends(require_user)]
