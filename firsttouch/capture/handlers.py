"""Job handlers of this layer, by job kind; the worker entry point maps them.

``capture.reassign_check`` runs ``routing.reassign_after_minutes`` after a
lead is assigned. If the owner has not acted (no human touch, still new),
the lead goes to another rep by the same rules, the reassignment is
recorded, and the check is queued again for the new owner.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from firsttouch.capture.owners import choose_owner, lead_facts, record_decision
from firsttouch.jobs.queue import enqueue
from firsttouch.logs import get_logger
from firsttouch.store.models import Contact, Inbound, RoutingDecision

if TYPE_CHECKING:
    from firsttouch.jobs.runner import Handler, JobContext
    from firsttouch.runtime import Runtime

log = get_logger(__name__)

# Past this many passes the lead stays put: somebody has been told enough.
MAX_REASSIGNMENTS = 3


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """Return this layer's handlers, keyed by the job kinds it owns."""

    def reassign_check(ctx: JobContext) -> None:
        reassign_if_idle(
            runtime, int(ctx.payload["inbound_id"]), int(ctx.payload.get("round", 1))
        )

    return {"capture.reassign_check": reassign_check}


def reassign_if_idle(
    runtime: Runtime, inbound_id: int, round_no: int = 1
) -> str | None:
    """Move an untouched lead to another rep; return the new owner, if any."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None or inbound.owner_id is None:
            return None
        if inbound.human_touch_at is not None or inbound.status not in ("new", "open"):
            return None

        previous = inbound.owner_id
        tried = set(
            session.scalars(
                select(RoutingDecision.owner_id).where(
                    RoutingDecision.inbound_id == inbound_id
                )
            )
        )
        contact = (
            session.get(Contact, inbound.contact_id) if inbound.contact_id else None
        )
        facts = lead_facts(session, contact)
        # The idle owner must not win again through "existing owner".
        if facts.contact_owner == previous:
            facts = replace(facts, contact_owner=None)
        choice = choose_owner(
            session,
            runtime.workspace,
            facts,
            now,
            exclude=frozenset(tried | {previous}),
        )
        if choice.owner_id == previous:
            return None

        choice.rule, choice.reason = (
            "reassigned",
            (
                f"{previous} did not act within "
                f"{runtime.workspace.routing.reassign_after_minutes} minutes; "
                f"{choice.reason}"
            ),
        )
        record_decision(
            session,
            choice,
            inbound_id=inbound.id,
            contact_id=inbound.contact_id,
            now=now,
            previous_owner_id=previous,
        )
        inbound.owner_id = choice.owner_id
        if contact is not None and contact.owner_id == previous:
            contact.owner_id = choice.owner_id

        if round_no < MAX_REASSIGNMENTS:
            minutes = runtime.workspace.routing.reassign_after_minutes
            enqueue(
                session,
                "capture.reassign_check",
                {"inbound_id": inbound.id, "round": round_no + 1},
                key=f"reassign:{inbound.id}:{round_no + 1}",
                due_at=now + timedelta(minutes=minutes),
                now=now,
            )

    log.info(
        "inbound.reassigned",
        inbound_id=inbound_id,
        owner=choice.owner_id,
        previous_owner=previous,
    )
    return choice.owner_id
