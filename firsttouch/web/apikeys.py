"""API keys: shown once when made, stored as a SHA-256 hash, revocable.

A key reads ``ft_<prefix>_<secret>``. The prefix finds the row without a
scan; the secret is 32 random bytes, so a fast hash is enough (there is
nothing to brute-force, unlike a password).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select

from firsttouch.clock import Clock
from firsttouch.errors import InputError, NotFoundError
from firsttouch.store.db import Database
from firsttouch.store.models import ApiKey


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(db: Database, name: str, clock: Clock) -> str:
    """Make a key for integration ``name``; return it (the only time it is seen)."""
    name = name.strip()
    if not name:
        # The name is all that says, in the key list and on every lead it
        # brings (provider "api:NAME"), which system holds the key.
        raise InputError(
            "an API key needs a name: the integration that will use it",
            field="name",
        )
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with db.transaction() as session:
        session.add(
            ApiKey(
                name=name, prefix=prefix, key_hash=_hash(secret), created_at=clock.now()
            )
        )
    return f"ft_{prefix}_{secret}"


def verify_api_key(db: Database, presented: str, clock: Clock) -> ApiKey | None:
    """Return the live key matching ``presented``, or None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "ft":
        return None
    _, prefix, secret = parts
    with db.transaction() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if key is None or key.revoked_at is not None:
            return None
        if not hmac.compare_digest(key.key_hash, _hash(secret)):
            return None
        key.last_used_at = clock.now()
        return key


def revoke_api_key(db: Database, prefix: str, clock: Clock) -> None:
    """Revoke the key whose prefix is ``prefix``."""
    with db.transaction() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if key is None:
            raise NotFoundError(f"no API key with prefix {prefix!r}")
        key.revoked_at = clock.now()


def list_api_keys(db: Database) -> list[ApiKey]:
    with db.sessions() as session:
        return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
