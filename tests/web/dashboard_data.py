"""Rows the dashboard tests build directly in the store: users and leads.

The qualify layer's judgement is injected through ``fake_scores`` so these
tests check the dashboard, not the scoring.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from firsttouch.clock import Clock
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Inbound, Qualification
from firsttouch.web import accounts

PASSWORD = "correct horse battery"

# Users matching the example workspace: maya and luis report to dana.
USERS = {
    "admin": ("admin@example.test", "admin", None),
    "maya": ("maya@example.test", "rep", "maya"),
    "luis": ("luis@example.test", "rep", "luis"),
    "dana": ("dana@example.test", "manager", "dana"),
}


def use_cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest cost: these tests check the flow, not the hash."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_hashing(monkeypatch)


def make_users(db: Database, clock: Clock) -> None:
    for name, (email, role, rep_id) in USERS.items():
        accounts.create_user(
            db,
            email,
            PASSWORD,
            name=name.title(),
            role=role,
            rep_id=rep_id,
            reps=("maya", "luis", "hannah", "dana"),
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


def judge(
    db: Database,
    inbound_id: int,
    *,
    score: int = 86,
    route: str = "rep_now",
    brief: str = "CFO at a 400-person freight firm.",
) -> None:
    """Store a qualification the way the qualify layer does."""
    criteria = [
        {"name": "company size", "points": 30, "reason": "400 employees"},
        {"name": "title", "points": 25, "reason": "CFO"},
    ]
    with db.transaction() as session:
        session.add(
            Qualification(
                inbound_id=inbound_id,
                icp_version="test-1",
                score=score,
                route=route,
                intent=0,
                reasons={"criteria": criteria},
                brief=brief,
                brief_source="code",
                sources=[],
                facts={"employees": {"value": 400, "source": "company directory"}},
            )
        )


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
