"""People who log in: argon2 password hashes, roles and lock-out.

A login that fails ``MAX_FAILED_LOGINS`` times in a row locks the account for
``LOCK_MINUTES``; a good password during the lock is refused too, so guessing
cannot continue at a slower pace. An unknown email costs the same argon2 work
as a known one, so timing does not tell which addresses have accounts.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from firsttouch.clock import Clock, ensure_utc
from firsttouch.errors import InputError
from firsttouch.logs import mask_email
from firsttouch.store.db import Database
from firsttouch.store.models import User

log = structlog.get_logger(__name__)

ROLES = ("admin", "manager", "rep")
# The roles that see leads through a workspace rep they are.
REP_ROLES = ("manager", "rep")
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("firsttouch-no-such-user")


class LoginRefusedError(InputError):
    """The email and password do not match, or the account is locked."""

    code = "login_refused"
    status = 401


class AccountLockedError(LoginRefusedError):
    """Too many failed logins in a row; ``until`` says when it opens again."""

    code = "account_locked"
    status = 429

    def __init__(self, until: datetime):
        minutes = LOCK_MINUTES
        super().__init__(
            f"too many failed logins; this account is locked for {minutes} minutes"
        )
        self.until = until


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    db: Database,
    email: str,
    password: str,
    *,
    name: str | None = None,
    role: str = "rep",
    rep_id: str | None = None,
    reps: Collection[str],
    clock: Clock,
) -> User:
    """Add a user; raise ``InputError`` naming the field that is wrong.

    ``reps`` are the workspace's rep ids: a rep or manager login must be one
    of them, or it would see no lead at all.
    """
    email = normalise_email(email)
    if "@" not in email:
        raise InputError(f"{email!r} is not an email address", field="email")
    if role not in ROLES:
        raise InputError(
            f"role must be one of {', '.join(ROLES)}; got {role!r}", field="role"
        )
    _check_rep(role, rep_id, reps)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
        )

    with db.transaction() as session:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise InputError(f"a user with email {email} already exists", field="email")
        user = User(
            email=email,
            name=name or email.split("@")[0],
            role=role,
            rep_id=rep_id,
            password_hash=hash_password(password),
            failed_logins=0,
            created_at=clock.now(),
        )
        session.add(user)
    log.info("user.created", email=mask_email(email), role=role)
    return user


def _check_rep(role: str, rep_id: str | None, reps: Collection[str]) -> None:
    known = ", ".join(sorted(reps)) or "none"
    if rep_id is None and role in REP_ROLES:
        raise InputError(
            f"a {role} login needs the workspace rep it is (rep id); "
            f"the workspace's reps are: {known}",
            field="rep_id",
        )
    if rep_id is not None and rep_id not in reps:
        raise InputError(
            f"the workspace has no rep {rep_id!r}; its reps are: {known}",
            field="rep_id",
        )


def count_users(db: Database) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(db: Database, email: str, password: str, clock: Clock) -> User:
    """Return the user whose email and password match, or raise.

    Raises ``AccountLockedError`` while a lock holds and ``LoginRefusedError``
    for a wrong email or password. Each failure is counted and committed
    before the refusal is raised, so a crash never forgives a guess.
    """
    now = clock.now()
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            _password_matches(_DUMMY_HASH, password)
            outcome = "refused"
        elif user.locked_until is not None and ensure_utc(user.locked_until) > now:
            outcome = "locked"
        elif not _password_matches(user.password_hash, password):
            outcome = _count_failure(user, now)
        else:
            outcome = "ok"
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now

    if outcome == "locked" and user is not None and user.locked_until is not None:
        log.warning("login.locked", user_id=user.id)
        raise AccountLockedError(ensure_utc(user.locked_until))
    if outcome != "ok" or user is None:
        raise LoginRefusedError("that email and password do not match")
    log.info("login.succeeded", user_id=user.id)
    return user


def _count_failure(user: User, now: datetime) -> str:
    """Count one wrong password; lock the account at the limit."""
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
        user.failed_logins = 0
        log.warning("login.lockout", user_id=user.id, minutes=LOCK_MINUTES)
        return "locked"
    log.info("login.failed", user_id=user.id, failures=user.failed_logins)
    return "refused"


def get_user(db: Database, user_id: int) -> User | None:
    with db.sessions() as session:
        return session.get(User, user_id)


def ensure_first_admin(db: Database, env: dict[str, str] | Any, clock: Clock) -> str:
    """Make the first admin from ``FIRSTTOUCH_ADMIN_*`` when nobody can log in.

    Returns one line for the operator: who was created, or how to create
    someone. The password itself is never echoed.
    """
    if count_users(db) > 0:
        return "log in with your firsttouch account"
    password = env.get("FIRSTTOUCH_ADMIN_PASSWORD", "")
    if not password:
        return (
            "no users yet: run `firsttouch user create you@example.com --role "
            "admin`, or start with FIRSTTOUCH_ADMIN_PASSWORD set to create "
            "admin@localhost"
        )
    email = env.get("FIRSTTOUCH_ADMIN_EMAIL") or "admin@localhost"
    create_user(db, email, password, name="Admin", role="admin", reps=(), clock=clock)
    return f"created the first admin {email} from FIRSTTOUCH_ADMIN_PASSWORD"
