"""A new lead's statements are counted: the hot path must stay lean.

Counted with SQLAlchemy's cursor events, so the figures are exact and the
same on every machine (no timing). Each budget names what it pays for; a
change that adds a statement to every lead has to change it here, on
purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.ingest import (
    ACCEPTED,
    IngestResult,
    inbound_values,
    ingest,
    ingest_accepted,
)
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.store.models import Company, Contact, Inbound, Job, RoutingDecision


@pytest.fixture
def rt(runtime: Runtime, any_db: Database) -> Runtime:
    """The test runtime on each engine in turn."""
    runtime.db = any_db
    return runtime


def lead(key: str, email: str, company: str, country: str = "GB") -> InboundEvent:
    return InboundEvent(
        dedupe_key=key,
        channel="web_form",
        kind="form",
        source="website",
        provider="form",
        person=PersonFacts(
            email=email,
            first_name="Grace",
            last_name=f"Hopper {key}",
            company=company,
            country=country,
        ),
        body_text="Could we see a demo?",
        raw="{}",
    )


class Counted:
    """Statements sent and ORM flushes run while counting."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.flushes = 0

    def __str__(self) -> str:
        return "\n".join(" ".join(s.split())[:120] for s in self.statements)


@contextmanager
def counting(db: Database) -> Iterator[Counted]:
    counted = Counted()

    def on_statement(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        counted.statements.append(statement)

    def on_flush(session: Session, *args: object) -> None:
        counted.flushes += 1

    event.listen(db.engine, "before_cursor_execute", on_statement)
    event.listen(Session, "before_flush", on_flush)
    try:
        yield counted
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)
        event.remove(Session, "before_flush", on_flush)


# PostgreSQL adds a lock on the contact's email and one NOTIFY for the jobs.
PG_EXTRA = 2


def test_a_lead_at_a_new_company_costs_ten_statements_and_no_flush(
    rt: Runtime,
) -> None:
    ingest(rt, lead("warm", "warm@up.example", "Warm Up"))

    with counting(rt.db) as counted:
        result = ingest(rt, lead("new", "ada@newco.example", "Newco"))

    # Dedupe check, contact probe, company lookup, company insert, owner
    # state (open leads and recent assignments at once), contact insert,
    # account claim, inbound insert, routing audit, five jobs at once.
    budget = 10 + (PG_EXTRA if rt.db.is_postgres else 0)
    assert len(counted.statements) <= budget, counted
    assert counted.flushes == 0
    assert result.created_lead and result.owner_id == "hannah"


def test_a_colleague_at_a_known_company_costs_seven_statements(rt: Runtime) -> None:
    first = ingest(rt, lead("first", "ada@known.example", "Known Ltd"))

    with counting(rt.db) as counted:
        colleague = ingest(rt, lead("second", "bo@known.example", "Known Ltd"))

    # Dedupe check, contact probe, company lookup, contact insert, inbound
    # insert, routing audit, jobs: the company's owner takes the lead, so
    # routing reads nothing.
    budget = 7 + (PG_EXTRA if rt.db.is_postgres else 0)
    assert len(counted.statements) <= budget, counted
    assert counted.flushes == 0
    assert colleague.owner_id == first.owner_id


def accept(rt: Runtime, event: InboundEvent) -> int:
    """Store ``event`` as the web tier's accept writer does: status accepted."""
    with rt.db.transaction() as session:
        row = Inbound(**inbound_values(rt, event, rt.clock.now()))
        row.status = ACCEPTED
        session.add(row)
        session.flush()
        return row.id


def test_finishing_an_accepted_lead_costs_what_ingest_costs(rt: Runtime) -> None:
    ingest(rt, lead("warm", "warm@up.example", "Warm Up"))
    event = lead("accepted", "ada@newco.example", "Newco")
    inbound_id = accept(rt, event)

    with counting(rt.db) as counted:
        result = ingest_accepted(rt, inbound_id, event)

    # As a new lead at a new company, the inbound updated instead of inserted.
    budget = 10 + (PG_EXTRA if rt.db.is_postgres else 0)
    assert len(counted.statements) <= budget, counted
    assert counted.flushes == 0
    assert result is not None and result.inbound_id == inbound_id


def stored_lead(db: Database, result: IngestResult) -> dict[str, object]:
    """What a lead left behind, without ids: its inbound, contact, audit, jobs."""
    with db.sessions() as session:
        inbound = session.get(Inbound, result.inbound_id)
        contact = session.get(Contact, result.contact_id)
        assert inbound is not None and contact is not None
        company = session.get(Company, contact.company_id)
        decision = session.scalar(
            select(RoutingDecision).where(RoutingDecision.inbound_id == inbound.id)
        )
        assert company is not None and decision is not None
        jobs = session.scalars(
            select(Job).where(Job.payload["inbound_id"].as_integer() == inbound.id)
        )
        return {
            "inbound": (
                inbound.status,
                inbound.owner_id,
                inbound.received_at,
                inbound.first_touch_due_at,
                inbound.human_due_at,
                inbound.sla_state,
            ),
            "contact": (contact.email_norm, contact.owner_id, contact.company_name),
            "company": (company.domain, company.name, company.owner_id),
            "decision": (decision.owner_id, decision.rule, decision.reason),
            "skipped": decision.skipped,
            "jobs": sorted(
                (j.kind, (j.idempotency_key or "").split(":")[0], j.due_at)
                for j in jobs
            ),
        }


def forget_everything(db: Database) -> None:
    with db.transaction() as session:
        for model in (Job, RoutingDecision, Inbound, Contact, Company):
            session.execute(delete(model))


def test_an_accepted_lead_ends_as_the_same_lead_ingest_makes(rt: Runtime) -> None:
    event = lead("same", "ada@newco.example", "Newco", country="US")
    expected = stored_lead(rt.db, ingest(rt, event))
    forget_everything(rt.db)

    finished = ingest_accepted(rt, accept(rt, event), event)

    assert finished is not None
    assert stored_lead(rt.db, finished) == expected
