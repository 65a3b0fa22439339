"""Rows the dashboard tests build directly in the store: users and leads.

The qualify layer's judgement is injected through ``fake_scores`` so these
tests check the dashboard, not the scoring.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from firsttouch.clock import Clock
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Inbound
from firsttouch.web import accounts
from firsttouch.web.dashboard import scores

PASSWORD = "correct horse battery"

# Users matching the example workspace: maya and luis report to dana.
USERS = {
    "admin": ("admin@example.test", "admin", None),
    "maya": ("maya@example.test", "rep", "maya"),
    "luis": ("luis@example.test", "rep", "luis"),
    "dana": ("dana@example.test", "manager", "dana"),
}


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest cost: these tests check the flow, not the hash."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )


def make_users(db: Database, clock: Clock) -> None:
    for name, (email, role, rep_id) in USERS.items():
        accounts.create_user(
            db,
            email,
            PASSWORD,
            name=name.title(),
            role=role,
            rep_id=rep_id,
            clock=clock,
        )


def make_lead(
    db: Database,
    now: datetime,
    *,
    first: str = "Ada",
    last: str = "Byron",
    company: str = "Acme Freight",
    owner: str | None = "maya",
    source: str = "demo-request",
    kind: str = "form",
    received_ago: timedelta = timedelta(minutes=2),
    message: str = "We need AP automation for 40 entities.",
) -> int:
    """Add a contact and its inbound; return the inbound id."""
    received = now - received_ago
    with db.transaction() as session:
        contact = Contact(
            first_name=first,
            last_name=last,
            company_name=company,
            email=f"{first.lower()[:8]}.{id(received) % 10000}@acme.test"
            if first.isalpha()
            else "odd@acme.test",
            owner_id=owner,
            created_at=received,
            attributes={},
        )
        session.add(contact)
        session.flush()
        inbound = Inbound(
            dedupe_key=f"test:{contact.id}:{received.isoformat()}",
            received_at=received,
            channel="web_form",
            kind=kind,
            source=source,
            provider="test",
            contact_id=contact.id,
            owner_id=owner,
            body_text=message,
            fields={},
            utm={},
            first_touch_due_at=received + timedelta(minutes=5),
            human_due_at=received + timedelta(minutes=30),
        )
        session.add(inbound)
        session.flush()
        return inbound.id


@contextmanager
def fake_scores(
    monkeypatch: pytest.MonkeyPatch, table: dict[int, dict[str, Any]]
) -> Iterator[None]:
    """Answer ``latest_qualification`` from ``table`` (inbound id -> record)."""

    def latest(session: Any, inbound_id: int) -> dict[str, Any] | None:
        return table.get(inbound_id)

    monkeypatch.setattr(scores, "_latest_function", lambda: latest)
    yield


def hot(score: int = 86, brief: str = "CFO at a 400-person freight firm.") -> dict:
    return {
        "score": score,
        "route": "rep_now",
        "brief": brief,
        "contributions": [
            {"label": "company size", "points": 30, "why": "400 employees"},
            {"label": "title", "points": 25, "why": "CFO"},
        ],
    }


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def log_in(client: Any, who: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "email": USERS[who][0],
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )
