"""Job handlers of this layer, by job kind; the worker entry point maps them.

``capture.reassign_check`` runs ``routing.reassign_after_minutes`` after a
lead is assigned. If the owner has not acted (no human touch, still new),
the lead goes to another rep who is working now, by the same rules, and the
reassignment is recorded. When nobody else is working the lead stays put
(moving it between sleeping reps helps no one) and the check comes back
when the next other rep's shift starts, not every half hour through the
night. Checks stop once the lead is touched, once qualification has routed
it where no rep is expected to act now (nurture, disqualified), after
``MAX_REASSIGNMENTS`` moves, or after ``MAX_CHECKS`` checks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from firsttouch.capture.accept import INGEST_KIND, run_ingest_job
from firsttouch.capture.owners import choose_owner, lead_facts, record_decision
from firsttouch.capture.polling import LEAD_POLL_KIND, run_poll_job
from firsttouch.capture.providers.imap import mailbox_from_settings, poll_mailbox
from firsttouch.errors import ConfigError
from firsttouch.jobs.queue import enqueue
from firsttouch.logs import get_logger
from firsttouch.store.models import Contact, Inbound, RoutingDecision
from firsttouch.store.models.qualify import REP_ROUTES, latest_route

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from firsttouch.jobs.runner import Handler, JobContext
    from firsttouch.runtime import Runtime
    from firsttouch.workspace import Workspace

log = get_logger(__name__)

IMAP_POLL_KIND = "capture.imap_poll"

# Past this many moves the lead stays put: somebody has been told enough.
MAX_REASSIGNMENTS = 3
# About four days of half-hourly checks across a night or a weekend.
MAX_CHECKS = 200
# Rules that pick someone who can act now; the fallbacks do not.
WORKING_RULES = ("existing_owner", "territory", "round_robin")
# How far ahead to look for the next shift start.
SHIFT_SEARCH_DAYS = 8


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """Return this layer's handlers, keyed by the job kinds it owns."""

    def reassign_check(ctx: JobContext) -> None:
        payload = ctx.payload
        reassign_if_idle(
            runtime,
            int(payload["inbound_id"]),
            int(payload.get("round", 1)),
            int(payload.get("check", 1)),
        )

    def imap_poll(ctx: JobContext) -> None:
        poll_imap_and_reschedule(runtime)

    def ingest_accepted(ctx: JobContext) -> None:
        run_ingest_job(runtime, ctx)

    def lead_poll(ctx: JobContext) -> None:
        run_poll_job(runtime, ctx.payload)

    return {
        "capture.reassign_check": reassign_check,
        IMAP_POLL_KIND: imap_poll,
        INGEST_KIND: ingest_accepted,
        LEAD_POLL_KIND: lead_poll,
    }


def schedule_imap_polling(runtime: Runtime) -> bool:
    """Start the IMAP polling cycle when ``IMAP_HOST`` names a mailbox.

    Called by ``serve`` and ``worker`` at start-up. The key names the
    current interval, so several processes starting together queue one poll.
    """
    if mailbox_from_settings(runtime.settings) is None:
        return False
    with runtime.db.transaction() as session:
        _enqueue_poll(runtime, session, runtime.clock.now())
    return True


def poll_imap_and_reschedule(runtime: Runtime) -> None:
    """Poll the shared mailbox once, then queue the next poll.

    The next poll is queued in its own transaction before this one's
    outcome matters: a server that is down today must not end the cycle.
    """
    mailbox = mailbox_from_settings(runtime.settings)
    if mailbox is None:
        log.info("imap.polling_stopped", reason="IMAP_HOST is no longer set")
        return
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        _enqueue_poll(runtime, session, now + _poll_interval(runtime))
    poll_mailbox(runtime, mailbox)


def _poll_interval(runtime: Runtime) -> timedelta:
    raw = runtime.settings.env.get("IMAP_POLL_SECONDS") or "60"
    try:
        seconds = max(10, int(raw))
    except ValueError:
        raise ConfigError(
            f"IMAP_POLL_SECONDS must be a whole number of seconds, got {raw!r}"
        ) from None
    return timedelta(seconds=seconds)


def _enqueue_poll(runtime: Runtime, session: Session, due: datetime) -> None:
    interval = _poll_interval(runtime).total_seconds()
    slot = int(due.timestamp() // interval)
    enqueue(
        session,
        IMAP_POLL_KIND,
        {},
        key=f"imap_poll:{slot}",
        due_at=due,
        now=runtime.clock.now(),
    )


def reassign_if_idle(
    runtime: Runtime, inbound_id: int, round_no: int = 1, check: int = 1
) -> str | None:
    """Move an untouched lead to a rep working now; return the new owner, if any."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None or inbound.owner_id is None:
            return None
        if inbound.human_touch_at is not None or inbound.status not in ("new", "open"):
            return None
        if _routed_away_from_reps(session, inbound_id):
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
        choice = choose_owner(
            session,
            runtime.workspace,
            lead_facts(session, contact),
            now,
            exclude=frozenset(tried | {previous}),
        )
        if choice.rule not in WORKING_RULES or choice.owner_id == previous:
            wake = next_shift_start(runtime.workspace, now, exclude={previous})
            _check_again(runtime, session, inbound.id, round_no, check, due=wake)
            return None

        minutes = runtime.workspace.routing.reassign_after_minutes
        choice.rule = "reassigned"
        choice.reason = (
            f"{previous} did not act within {minutes} minutes; {choice.reason}"
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
            _check_again(runtime, session, inbound.id, round_no + 1, check)

    log.info(
        "inbound.reassigned",
        inbound_id=inbound_id,
        owner=choice.owner_id,
        previous_owner=previous,
    )
    return choice.owner_id


def _routed_away_from_reps(session: Session, inbound_id: int) -> bool:
    """Whether qualification's latest route for the lead asks no rep to act.

    Read from the store (capture never imports the qualify layer); a lead
    not qualified yet is treated as needing a rep.
    """
    route = latest_route(session, inbound_id)
    return route is not None and route not in REP_ROUTES


def next_shift_start(
    workspace: Workspace, now: datetime, *, exclude: set[str]
) -> datetime | None:
    """The first moment after ``now`` when a rep outside ``exclude`` is working."""
    # Zero working minutes after ``now`` is the start of the rep's next shift,
    # read from the shift bounds (the same arithmetic as follow-up deadlines).
    starts = [
        start
        for rep in workspace.team.reps
        if rep.id not in exclude
        and (start := rep.after_working_minutes(now, 0, horizon_days=SHIFT_SEARCH_DAYS))
    ]
    return min(starts, default=None)


def _check_again(
    runtime: Runtime,
    session: Session,
    inbound_id: int,
    round_no: int,
    check: int,
    *,
    due: datetime | None = None,
) -> None:
    if check >= MAX_CHECKS:
        return
    now = runtime.clock.now()
    minutes = runtime.workspace.routing.reassign_after_minutes
    enqueue(
        session,
        "capture.reassign_check",
        {"inbound_id": inbound_id, "round": round_no, "check": check + 1},
        key=f"reassign:{inbound_id}:{check + 1}",
        due_at=max(due or now, now + timedelta(minutes=minutes)),
        now=now,
    )
