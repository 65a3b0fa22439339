"""Store one inbound event, durably and exactly once, whatever its channel.

``ingest`` is the one door every adapter (form, email, SMS, call, chat, lead
ad, API, import) goes through, so a lead from email gets exactly what a lead
from a form gets: the same contact resolution, the same owner rules, the
same follow-up jobs.

Contract: on return, the ``Inbound`` row (raw payload kept, capped), its
contact, its routing decision and its jobs are committed in one transaction
(or, when the caller passes ``session``, flushed into the caller's, which
then owns the commit). Ingesting an event whose ``dedupe_key`` is already
stored changes nothing and returns ``duplicate=True``; the guard is the
unique constraint on ``inbounds.dedupe_key``, so concurrent deliveries of
one event also store it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from firsttouch.capture.contacts import (
    claim_company,
    insert_contact,
    known_contact,
    live_contact,
    resolve_contact,
)
from firsttouch.capture.events import InboundEvent
from firsttouch.capture.own_mail import mark_own_mail
from firsttouch.capture.owners import (
    INSERT_DECISION,
    choose_owner,
    decision_values,
    lead_facts,
)
from firsttouch.jobs.queue import KeyedJob, enqueue, enqueue_keyed
from firsttouch.logs import get_logger, mask_email, mask_phone
from firsttouch.store.models import Inbound, Touch
from firsttouch.store.prepared import Prepared

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime
    from firsttouch.workspace import Workspace

log = get_logger(__name__)

# Whole-message references kept per inbound; longer chains are the sender's.
MAX_REFERENCES = 20
# The status of an inbound committed by the web tier and not yet resolved
# into a contact and an owner (see capture.accept).
ACCEPTED = "accepted"


# Built once against the table: every new lead runs these.
_INBOUNDS = cast(Table, Inbound.__table__)
_BY_DEDUPE_KEY = Prepared(
    select(_INBOUNDS.c.id, _INBOUNDS.c.contact_id, _INBOUNDS.c.owner_id).where(
        _INBOUNDS.c.dedupe_key == bindparam("key")
    )
)
_ACCEPTED_ROW = select(_INBOUNDS.c.status, _INBOUNDS.c.received_at).where(
    _INBOUNDS.c.id == bindparam("id_")
)
_INSERT_INBOUND = Prepared(_INBOUNDS.insert().returning(_INBOUNDS.c.id))
# The SET columns are the parameters' keys (the lead's contact, owner, clocks).
_FINISH_ACCEPTED = Prepared(update(_INBOUNDS).where(_INBOUNDS.c.id == bindparam("id_")))


@dataclass(frozen=True)
class IngestResult:
    """What happened to one event: where it is stored and who owns it."""

    inbound_id: int
    contact_id: int | None
    owner_id: str | None
    duplicate: bool
    created_lead: bool


def ingest(
    runtime: Runtime, event: InboundEvent, *, session: Session | None = None
) -> IngestResult:
    """Store ``event`` with its contact, owner and jobs; commit before returning.

    With ``session`` the work joins the caller's transaction (the caller
    commits; an import uses this to keep a file all-or-nothing).
    """
    event = mark_own_mail(runtime.workspace, event)
    if session is not None:
        return _ingest_in(runtime, session, event, guarded=True)

    try:
        with runtime.db.transaction() as own:
            result = _ingest_in(runtime, own, event, guarded=False)
    except IntegrityError:
        # Another delivery of the same event committed between our check
        # and our insert; its row is the answer.
        with runtime.db.sessions() as fresh:
            existing = _existing(fresh, event.dedupe_key)
        if existing is None:
            raise
        return _duplicate(existing)

    if not result.duplicate:
        _log_captured(result, event)
    return result


def ingest_accepted(
    runtime: Runtime, inbound_id: int, event: InboundEvent
) -> IngestResult | None:
    """Finish an inbound the web tier accepted: contact, owner and jobs.

    ``capture.accept`` committed the row (status ``accepted``) before the
    provider got its 2xx; this does the rest, in one transaction, exactly as
    ``ingest`` would have. Running it again for a finished inbound changes
    nothing and returns None.
    """
    event = mark_own_mail(runtime.workspace, event)
    # No fsync of its own: the accepted row and this job were synced before
    # the provider's 2xx, so a power cut that loses this commit only runs
    # the job again.
    with runtime.db.transaction(durable=False) as session:
        row = session.connection().execute(_ACCEPTED_ROW, {"id_": inbound_id}).first()
        if row is None or row.status != ACCEPTED:
            return None
        arrival = _Arrival(inbound_id, row.received_at)
        result = _store(runtime, session, arrival, event, runtime.clock.now())

    _log_captured(result, event)
    return result


def ingest_in_group(
    runtime: Runtime,
    session: Session,
    values: dict[str, Any],
    event: InboundEvent,
) -> IngestResult:
    """Ingest ``event`` inside the accept writer's group transaction.

    ``values`` is the row the writer built for it (its key may be an earlier
    one the event was already stored under). A failure fails the group: the
    writer then stores each of its events as accepted, for their
    ``capture.ingest`` jobs, as it does every event of a large group. The
    caller commits, then calls ``log_captured``.
    """
    return _ingest_in(runtime, session, event, guarded=False, values=values)


def log_captured(result: IngestResult, event: InboundEvent) -> None:
    """The ``inbound.captured`` line of a new inbound (not of a duplicate)."""
    if not result.duplicate:
        _log_captured(result, event)


def _log_captured(result: IngestResult, event: InboundEvent) -> None:
    log.info(
        "inbound.captured",
        inbound_id=result.inbound_id,
        channel=event.channel,
        source=event.source,
        provider=event.provider,
        kind=event.kind,
        contact_id=result.contact_id,
        owner=result.owner_id,
        email=mask_email(event.person.email),
        phone=mask_phone(event.person.phone),
    )


def _ingest_in(
    runtime: Runtime,
    session: Session,
    event: InboundEvent,
    *,
    guarded: bool,
    values: dict[str, Any] | None = None,
) -> IngestResult:
    existing = _existing(session, values["dedupe_key"] if values else event.dedupe_key)
    if existing is not None:
        return _duplicate(existing)

    now = runtime.clock.now()
    values = values or inbound_values(runtime, event, now)
    arrival = _Arrival(None, values["received_at"], values)
    if not guarded:
        # Our own transaction: a lost race rolls all of it back, and
        # ``ingest`` answers with the winner's row.
        return _store(runtime, session, arrival, event, now)
    try:
        # The caller's transaction: a savepoint keeps it usable on a lost race.
        with session.begin_nested():
            return _store(runtime, session, arrival, event, now)
    except IntegrityError:
        # A concurrent delivery committed first (PostgreSQL made us wait for
        # it); a fresh read sees its row.
        winner = _existing(session, event.dedupe_key)
        if winner is None:
            raise
        return _duplicate(winner)


@dataclass(frozen=True)
class _Arrival:
    """The inbound being stored: a new row's values, or an accepted row's id."""

    id: int | None
    received_at: datetime
    values: dict[str, Any] | None = None

    def load(self, session: Session) -> Inbound:
        """The inbound as an ORM row, for the paths that are not a new lead."""
        if self.values is not None:
            return Inbound(**self.values)
        inbound = session.get(Inbound, self.id)
        assert inbound is not None  # read in this transaction
        return inbound


def _store(
    runtime: Runtime,
    session: Session,
    arrival: _Arrival,
    event: InboundEvent,
    now: datetime,
) -> IngestResult:
    """Write the inbound and what follows from it; the unique key guards it."""
    parent = find_parent(session, event)
    if parent is not None:
        return _attach_reply(session, arrival.load(session), parent)

    if not event.creates_lead:
        # Not a lead, but it belongs on the buyer's timeline when we know them.
        inbound = arrival.load(session)
        known = known_contact(
            session,
            event.person,
            default_region=event.default_region
            or runtime.workspace.routing.default_region,
        )
        if known is not None:
            inbound.contact_id = known.id
            inbound.owner_id = known.owner_id
        inbound.status = "recorded"
        session.add(inbound)
        session.flush()
        _enqueue_consent_keyword(session, inbound, now)
        return IngestResult(inbound.id, inbound.contact_id, None, False, False)

    return _create_lead(runtime, session, arrival, event, now)


def _create_lead(
    runtime: Runtime,
    session: Session,
    arrival: _Arrival,
    event: InboundEvent,
    now: datetime,
) -> IngestResult:
    """Contact, owner, inbound, audit and jobs: one statement each, no flush.

    A new contact, its company and the inbound are written by Core INSERTs
    as soon as their values are final; only changes to rows that already
    existed (a matched contact filled in) go out with the commit's flush.
    """
    workspace = runtime.workspace
    region = event.default_region or workspace.routing.default_region
    resolution = resolve_contact(
        session, event.person, default_region=region, now=now, flush=False
    )
    contact = resolution.contact

    # Routing reads only other rows, so nothing pending is written for it.
    company = resolution.company
    with session.no_autoflush:
        choice = choose_owner(session, workspace, lead_facts(session, contact), now)
    if contact.owner_id is None:
        contact.owner_id = choice.owner_id
    if resolution.created:
        insert_contact(session, contact)
    if company is not None:
        claim_company(session, company, choice.owner_id)

    # Both clocks start when the buyer reached us, not when a worker got
    # round to an accepted webhook.
    received = arrival.received_at or now
    first_touch_due = received + timedelta(
        minutes=workspace.respond.sla.first_touch_minutes
    )
    human_due = human_follow_up_due(workspace, choice.owner_id, received)
    lead = {
        "contact_id": contact.id,
        "owner_id": choice.owner_id,
        "status": "new",
        "first_touch_due_at": first_touch_due,
        "human_due_at": human_due,
    }
    inbound_id = _write_inbound(session, arrival, lead)

    INSERT_DECISION.run(
        session.connection(),
        decision_values(choice, inbound_id=inbound_id, contact_id=contact.id, now=now),
    )
    enqueue_followups(
        runtime,
        session,
        inbound_id,
        arrived_at=received,
        first_touch_due_at=first_touch_due,
        human_due_at=human_due,
        now=now,
    )
    return IngestResult(inbound_id, contact.id, choice.owner_id, False, True)


def _write_inbound(session: Session, arrival: _Arrival, lead: dict[str, Any]) -> int:
    """Insert a new inbound with the lead's columns, or finish an accepted one."""
    conn = session.connection()
    if arrival.values is not None:
        return cast(
            int, _INSERT_INBOUND.run(conn, {**arrival.values, **lead}).scalar_one()
        )
    assert arrival.id is not None  # an accepted row has its id
    _FINISH_ACCEPTED.run(conn, {"id_": arrival.id, **lead})
    return arrival.id


def human_follow_up_due(
    workspace: Workspace, owner_id: str | None, now: datetime
) -> datetime | None:
    """When a person should have followed up: the workspace's business minutes
    of the owner's own working time after arrival (the automatic first touch
    has its own, shorter clock)."""
    rep = workspace.team.rep(owner_id) if owner_id else None
    if rep is None:
        return None
    minutes = workspace.respond.sla.human_followup_business_minutes
    return rep.after_working_minutes(now, minutes)


def enqueue_followups(
    runtime: Runtime,
    session: Session,
    inbound_id: int,
    *,
    arrived_at: datetime,
    first_touch_due_at: datetime,
    human_due_at: datetime | None,
    now: datetime,
) -> None:
    """Queue what follows a new lead, in the same transaction as the lead.

    The first touch is due from the buyer's arrival, not from now: workers
    take due jobs of one rank oldest first, so under a backlog an earlier
    buyer's touch goes before a later buyer's capture, however each got
    here (ingested on acceptance or by a job).
    """
    payload = {"inbound_id": inbound_id}
    reassign_at = now + timedelta(
        minutes=runtime.workspace.routing.reassign_after_minutes
    )
    jobs = [
        KeyedJob("qualify.inbound", f"qualify:{inbound_id}", payload),
        KeyedJob(
            "respond.first_touch",
            f"first_touch:{inbound_id}",
            payload,
            due_at=min(arrived_at, now),
        ),
        KeyedJob(
            "respond.sla_check",
            f"sla:{inbound_id}",
            payload,
            due_at=first_touch_due_at,
        ),
        KeyedJob(
            "capture.reassign_check",
            f"reassign:{inbound_id}:1",
            payload,
            due_at=reassign_at,
        ),
    ]
    if human_due_at is not None:
        jobs.append(
            KeyedJob(
                "respond.human_sla_check",
                f"human_sla:{inbound_id}",
                payload,
                due_at=human_due_at,
            )
        )
    # One statement for all of them: this runs for every lead.
    enqueue_keyed(session, jobs, now)


def _enqueue_consent_keyword(session: Session, inbound: Inbound, now: datetime) -> None:
    """An SMS STOP/START/HELP is consent bookkeeping: respond's gate records it.

    It is queued in the same transaction as the inbound, so a STOP that was
    acknowledged to the carrier is never lost on the way to the opt-out list.
    """
    if (inbound.fields or {}).get("sms_keyword"):
        enqueue(
            session,
            "respond.consent",
            {"inbound_id": inbound.id},
            key=f"consent:{inbound.id}",
            now=now,
        )


def find_parent(session: Session, event: InboundEvent) -> Inbound | None:
    """The earlier inbound this event replies to, through an inbound or a touch."""
    ids = [i for i in [event.in_reply_to, *reversed(event.references)] if i]
    ids = list(dict.fromkeys(_bare_id(i) for i in ids))[:MAX_REFERENCES]
    if not ids:
        return None

    for message_id in ids:
        forms = (message_id, f"<{message_id}>")
        parent = session.scalar(
            select(Inbound)
            .where(
                Inbound.message_id.in_(forms), Inbound.dedupe_key != event.dedupe_key
            )
            .order_by(Inbound.id)
            .limit(1)
        )
        if parent is not None:
            return _root(session, parent)
        touch = session.scalar(
            select(Touch)
            .where(Touch.message_id.in_(forms), Touch.inbound_id.is_not(None))
            .order_by(Touch.id)
            .limit(1)
        )
        if touch is not None and touch.inbound_id is not None:
            found = session.get(Inbound, touch.inbound_id)
            if found is not None:
                return _root(session, found)
    return None


def _bare_id(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def _root(session: Session, inbound: Inbound) -> Inbound:
    seen: set[int] = set()
    while inbound.parent_id is not None and inbound.id not in seen:
        seen.add(inbound.id)
        parent = session.get(Inbound, inbound.parent_id)
        if parent is None:
            break
        inbound = parent
    return inbound


def _attach_reply(session: Session, inbound: Inbound, parent: Inbound) -> IngestResult:
    contact = live_contact(session, parent.contact_id) if parent.contact_id else None
    inbound.parent_id = parent.id
    inbound.kind = "reply"
    inbound.contact_id = contact.id if contact else parent.contact_id
    inbound.owner_id = parent.owner_id
    inbound.status = "reply"
    inbound.sla_state = "not_applicable"
    session.add(inbound)
    session.flush()
    return IngestResult(inbound.id, inbound.contact_id, inbound.owner_id, False, False)


def inbound_values(
    runtime: Runtime, event: InboundEvent, now: datetime
) -> dict[str, Any]:
    """The ``inbounds`` row for ``event`` as first stored, received ``now``.

    ``event`` is as its entry point left it (``mark_own_mail`` applied).
    """
    raw, truncated = cap_raw(event.raw, runtime.settings.raw_payload_cap)
    fields = dict(event.fields)
    if event.references:
        # The thread so far: a reply's References is this chain followed by
        # the message's own Message-ID (RFC 5322 section 3.6.4).
        fields["references"] = event.references[-MAX_REFERENCES:]
    return dict(
        dedupe_key=event.dedupe_key,
        received_at=now,
        occurred_at=event.occurred_at,
        channel=event.channel,
        kind=event.kind,
        source=event.source,
        provider=event.provider,
        provider_event_id=event.provider_event_id,
        campaign=event.campaign or event.utm.get("utm_campaign"),
        utm=dict(event.utm),
        subject=event.subject,
        body_text=event.body_text,
        fields=fields,
        raw=raw,
        raw_truncated=truncated,
        message_id=_bare_id(event.message_id) if event.message_id else None,
        in_reply_to=_bare_id(event.in_reply_to) if event.in_reply_to else None,
        status="new" if event.creates_lead else "recorded",
        sla_state="waiting" if event.creates_lead else "not_applicable",
    )


def cap_raw(raw: str | None, cap: int) -> tuple[str | None, bool]:
    """Keep the raw payload verbatim up to ``cap`` bytes of UTF-8.

    The event's text is storable already (see ``events``): no NUL, no lone
    surrogate.
    """
    if raw is None:
        return None, False
    encoded = raw.encode("utf-8", errors="surrogatepass")
    if len(encoded) <= cap:
        return raw, False
    return encoded[:cap].decode("utf-8", errors="ignore"), True


def _existing(session: Session, dedupe_key: str) -> Row[int, int, str] | None:
    """The stored inbound's id, contact and owner, if ``dedupe_key`` is taken."""
    found: Row[int, int, str] | None = _BY_DEDUPE_KEY.run(
        session.connection(), {"key": dedupe_key}
    ).first()
    return found


def _duplicate(stored: Row[int, int, str]) -> IngestResult:
    return IngestResult(stored.id, stored.contact_id, stored.owner_id, True, False)
