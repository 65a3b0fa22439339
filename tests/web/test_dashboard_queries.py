"""The queue's reads on both engines: sections, order, visibility, and a
query budget that does not grow with the number of leads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from firsttouch.web.dashboard import queries
from firsttouch.web.sessions import DashboardUser
from tests.web.dashboard_data import (  # noqa: F401 - cheap_hashing is a fixture
    cheap_hashing,
    judge,
    log_in,
    make_lead,
    make_users,
)

ADMIN = DashboardUser(1, "admin@example.test", "Admin", "admin", None)
MAYA = DashboardUser(2, "maya@example.test", "Maya", "rep", "maya")
DANA = DashboardUser(3, "dana@example.test", "Dana", "manager", "dana")


def _names(sections: list[queries.QueueSection], key: str) -> list[str]:
    section = next(s for s in sections if s.key == key)
    return [row.name.split()[0] for row in section.rows]


def test_sections_order_and_visibility_on_both_engines(
    any_db, clock, workspace
) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    soon = make_lead(
        any_db, now, first="Soon", owner="maya", received_ago=timedelta(minutes=25)
    )
    late = make_lead(any_db, now, first="Late", owner="maya")
    top = make_lead(any_db, now, first="Top", owner=None)
    luis = make_lead(any_db, now, first="Luis", owner="luis")
    make_lead(any_db, now, first="Fresh", owner="maya")  # not scored yet
    nurture = make_lead(any_db, now, first="Slow", owner="maya")
    for lead in (soon, late, luis):
        judge(any_db, lead, score=80)
    judge(any_db, top, score=99)
    judge(any_db, nurture, score=10, route="nurture")

    with any_db.sessions() as session:
        admin = queries.queue_sections(session, ADMIN, workspace, now)
        maya = queries.queue_sections(session, MAYA, workspace, now)
        dana = queries.queue_sections(session, DANA, workspace, now)

    # Highest score first, then the SLA due soonest.
    assert _names(admin, "hot") == ["Top", "Soon", "Late", "Luis"]
    assert _names(maya, "hot") == ["Top", "Soon", "Late"]
    assert _names(dana, "hot") == ["Top", "Soon", "Late", "Luis"]
    assert _names(maya, "open") == ["Fresh"]
    assert _names(maya, "sequences") == ["Slow"]
    assert {s.key: s.total for s in maya} == {
        "hot": 3,
        "replies": 0,
        "open": 1,
        "sequences": 1,
        "disqualified": 0,
    }


@pytest.mark.usefixtures("cheap_hashing")
def test_queue_page_query_count_does_not_grow_with_leads(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_users(runtime.db, runtime.clock)
    log_in(client, "admin")

    def count_queries() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(runtime.db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(runtime.db.engine, "before_cursor_execute", listener)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    for n in range(3):
        judge(runtime.db, make_lead(runtime.db, runtime.clock.now(), first=f"A{n}"))
    few = count_queries()
    for n in range(30):
        judge(runtime.db, make_lead(runtime.db, runtime.clock.now(), first=f"B{n}"))
    many = count_queries()
    assert many == few
    assert many <= 6, f"the queue page made {many} queries"


def test_deals_that_have_not_moved_for_two_weeks_are_flagged(
    db, clock, workspace
) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.store.models import Deal

    now = clock.now()
    with db.transaction() as session:
        session.add_all(
            [
                Deal(
                    name="Acme renewal",
                    stage="proposal",
                    owner_id="maya",
                    stage_changed_at=now - timedelta(days=20),
                    created_at=now,
                ),
                Deal(
                    name="Fresh deal",
                    stage="proposal",
                    owner_id="maya",
                    stage_changed_at=now - timedelta(days=2),
                    created_at=now,
                ),
                Deal(
                    name="Luis deal",
                    stage="demo",
                    owner_id="luis",
                    stage_changed_at=now - timedelta(days=30),
                    created_at=now,
                ),
            ]
        )
    with db.sessions() as session:
        for_maya = queries.stuck_deals(session, MAYA, workspace, now)
        for_dana = queries.stuck_deals(session, DANA, workspace, now)
    assert [d.name for d in for_maya] == ["Acme renewal"]
    assert [d.name for d in for_dana] == ["Luis deal", "Acme renewal"]


def test_a_reply_waits_in_its_own_section(db, clock, workspace) -> None:  # type: ignore[no-untyped-def]
    from firsttouch.store.models import Inbound

    now = clock.now()
    first = make_lead(
        db, now, first="Asker", owner="maya", received_ago=timedelta(hours=2)
    )
    judge(db, first, score=20, route="nurture")
    with db.transaction() as session:
        original = session.get(Inbound, first)
        session.add(
            Inbound(
                dedupe_key="reply:1",
                received_at=now,
                channel="email",
                kind="reply",
                source="email",
                contact_id=original.contact_id,
                owner_id="maya",
                parent_id=first,
                body_text="Yes, call me.",
                fields={},
                utm={},
            )
        )
    with db.sessions() as session:
        sections = queries.queue_sections(session, MAYA, workspace, now)
    assert _names(sections, "replies") == ["Asker"]
    assert _names(sections, "sequences") == ["Asker"]
