"""Send one touch exactly once: stage it, pass the gate, send, record.

A touch is staged as a ``Touch`` row (status ``draft``) holding the whole
message, keyed by its idempotency key, and taken through the consent gate
(``admit_touch``) in the same transaction: if allowed it is marked
``sending``, and that commits before anything leaves. (A first touch is
written once, already carrying the gate's answer: ``stage_admitted``.) The
send itself goes through ``Ledger.perform``, and the outcome is recorded in
one more transaction. A worker that dies anywhere in between leaves a row
that tells the retry where it stopped:

- ``draft`` or a due ``deferred``: the gate has not let it through; ask again.
- ``sending``: the gate let it through; the ledger knows whether it left.
  The email channel reports the server's 250 through ``on_accepted``, and
  the touch is recorded ``sent`` at that instant, in the one commit that
  also closes the ledger entry (``Ledger.settle``): a send costs one
  durable commit after the call, not two.
- anything else: settled; nothing more happens.

A deferred touch (quiet hours, caps, mailbox limits) gets a
``respond.send_touch`` job at the moment the gate named; a blocked one
keeps its reason. Nothing is dropped silently: when the job sending a
touch gives up (a delivery failing past the retry horizon, workers dying
on it), ``give_up_touches`` records the touch ``failed`` with the reason
and the code ``GAVE_UP``; an operator's retry of that job gates and sends
such a touch again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from firsttouch.channels.messages import EmailMessage, Result, SmsMessage
from firsttouch.channels.sms_segments import measure_sms
from firsttouch.errors import DeliveryError, NotFoundError
from firsttouch.jobs.ledger import Entry, Ledger
from firsttouch.jobs.queue import enqueue
from firsttouch.logs import get_logger, mask_email, mask_phone
from firsttouch.respond.consent import Allowed, Blocked, Deferred, check_send
from firsttouch.respond.one_intro import reopen_answered_by
from firsttouch.respond.quiet_hours import Recipient, place_recipient
from firsttouch.respond.senders import senders
from firsttouch.respond.templates import html_from_text
from firsttouch.store.fixed_lists import none_of
from firsttouch.store.models import Contact, Inbound, Touch
from firsttouch.store.prepared import Prepared
from firsttouch.store.types import UTCDateTime

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime

log = get_logger(__name__)

# A send's ledger entry as ``open_send`` left it: (entry, leased).
Opened = tuple[Entry, bool]

# States in which a touch will not be sent (again) by this machinery.
SETTLED = frozenset(
    {"queued", "sent", "delivered", "failed", "undelivered", "blocked", "read"}
)
# The error code of a touch whose job gave up before it could leave.
GAVE_UP = "retries_exhausted"
# States of a touch its job still means to send.
_UNSENT = ("draft", "sending")

# The statements of every touch are built once: a statement object keeps its
# own cache key, so running one again costs no construction and no key.
_TOUCH_BY_KEY = select(Touch).where(Touch.idempotency_key == bindparam("key"))
_TOUCH_BY_KEY_LOCKED = _TOUCH_BY_KEY.with_for_update()
_RECEIPT = select(Touch.status, Touch.message_id).where(
    Touch.idempotency_key == bindparam("key")
)

_TOUCHES = cast(Table, Touch.__table__)
_INBOUNDS = cast(Table, Inbound.__table__)
_STATUS = Prepared(
    select(_TOUCHES.c.status).where(_TOUCHES.c.idempotency_key == bindparam("key"))
)
# Sent: one UPDATE that also says whether there was anything left to record
# (a settled touch is left as it is) and which inbound it answers.
_MARK_SENT = Prepared(
    update(_TOUCHES)
    .where(
        _TOUCHES.c.idempotency_key == bindparam("key"),
        none_of(_TOUCHES.c.status, SETTLED),
    )
    .values(
        status=bindparam("sent_status"),
        provider_id=bindparam("sent_provider_id"),
        sent_at=bindparam("sent_time", type_=UTCDateTime()),
        latency_ms=bindparam("sent_latency_ms"),
        segments=func.coalesce(bindparam("sent_segments"), _TOUCHES.c.segments),
    )
    .returning(_TOUCHES.c.purpose, _TOUCHES.c.inbound_id, _TOUCHES.c.to_address)
)
_TOUCH_COLUMNS = tuple(c.key for c in _TOUCHES.columns if c.key != "id")
# The table, not the mapped class: written by the unit of work, a touch costs
# a flush; this is one INSERT, run at once like a flush would.
_INSERT_TOUCH = Prepared(insert(_TOUCHES).returning(_TOUCHES.c.id))
_TOUCHED_AT = bindparam("touched_at", type_=UTCDateTime())
# The inbound's first touch, once: met or late against its due time, unless
# consent rules held it back (reported apart from a miss).
_MARK_FIRST_TOUCH = Prepared(
    update(_INBOUNDS)
    .where(
        _INBOUNDS.c.id == bindparam("inbound_id"),
        _INBOUNDS.c.first_touch_at.is_(None),
    )
    .values(
        first_touch_at=_TOUCHED_AT,
        sla_state=case(
            (_INBOUNDS.c.sla_state == "deferred_by_policy", _INBOUNDS.c.sla_state),
            (
                or_(
                    _INBOUNDS.c.first_touch_due_at.is_(None),
                    _INBOUNDS.c.first_touch_due_at >= _TOUCHED_AT,
                ),
                "met",
            ),
            else_="late",
        ),
    )
)


@dataclass(frozen=True)
class Draft:
    """A message ready for the gate: who, on which channel, saying what."""

    key: str
    channel: str
    to: str | None
    text: str
    from_address: str | None = None
    subject: str | None = None
    template: str | None = None
    purpose: str = "first_touch"
    inbound_id: int | None = None
    contact_id: int | None = None
    owner_id: str | None = None
    message_id: str | None = None
    scheduled_for: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def stage_touch(session: Session, draft: Draft, now: datetime) -> Touch:
    """Add ``draft`` as a ``draft`` touch, or return the row already staged."""
    existing = session.scalar(_TOUCH_BY_KEY, {"key": draft.key})
    if existing is not None:
        return existing
    return add_touch(session, draft, now)


def staged_touch(session: Session, key: str) -> Touch | None:
    """Return the touch staged under ``key``, locked for this transaction."""
    # Most keys have no touch yet (a first run): a Core statement says so
    # for a third of the ORM query's cost, which only a staged row needs.
    if _STATUS.run(session, {"key": key}).first() is None:
        return None
    return session.scalar(_TOUCH_BY_KEY_LOCKED, {"key": key})


def add_touch(session: Session, draft: Draft, now: datetime) -> Touch:
    """Add ``draft`` as a new touch; the caller knows none has its key yet."""
    touch = _new_touch(draft, now)
    session.add(touch)
    session.flush()
    return touch


def stage_admitted(
    runtime: Runtime, session: Session, draft: Draft, now: datetime
) -> Touch:
    """Stage a new touch with the gate's answer already on it.

    ``add_touch`` then ``admit_staged``, in one INSERT: the row is written
    once, with the status the gate gave it, instead of inserted as a draft
    and updated. The caller knows no touch has the draft's key yet.
    """
    touch = _new_touch(draft, now)
    admit_staged(runtime, session, touch, now)
    columns = {name: getattr(touch, name) for name in _TOUCH_COLUMNS}
    touch.id = _INSERT_TOUCH.run(session, columns).scalar_one()
    return touch


def _new_touch(draft: Draft, now: datetime) -> Touch:
    touch = Touch(
        idempotency_key=draft.key,
        inbound_id=draft.inbound_id,
        contact_id=draft.contact_id,
        owner_id=draft.owner_id,
        channel=draft.channel,
        purpose=draft.purpose,
        template=draft.template,
        status="draft",
        to_address=draft.to,
        from_address=draft.from_address,
        subject=draft.subject,
        body=draft.text,
        message_id=draft.message_id,
        segments=measure_sms(draft.text).segments if draft.channel == "sms" else None,
        scheduled_for=draft.scheduled_for,
        meta=dict(draft.meta),
        created_at=now,
    )
    if draft.meta.get("blocked"):
        touch.status = "blocked"
        touch.error = str(draft.meta["blocked"])[:2000]
    return touch


def deliver_touch(runtime: Runtime, key: str) -> str:
    """Take the staged touch ``key`` through the gate and out; return its status.

    Raises ``DeliveryError`` (not permanent) when the channel failed in a
    way worth retrying: the job that called this runs again later.
    """
    now = runtime.clock.now()
    # Not synced on its own, as in run_first_touch: nothing leaves before a
    # durable pending mark where a lost one would matter (``open_send``).
    with runtime.db.transaction(durable=False) as session:
        touch = _staged_or_fail(session, key)
        status = admit_staged(runtime, session, touch, now)
        opened = open_send(runtime, session, touch) if status == "sending" else None
    if status != "sending":
        return status
    return send_admitted(runtime, key, touch, opened=opened)


def open_send(runtime: Runtime, session: Session, touch: Touch) -> Opened | None:
    """Open the ledger entry of ``touch``'s send in the caller's transaction.

    Only for email to a server that cannot be asked afterwards whether it
    took a message (SMTP: RFC 5321 has no such command); None otherwise, and
    ``Ledger.perform`` opens the entry itself. Such a pending mark needs no
    fsync of its own: after a power cut that loses the send's record, the
    retry sends again whether or not the mark survived (it could only ask
    the channel, which has nothing to say), so the caller may commit it
    without one. A channel that can be asked (Twilio, the outbox) keeps a
    durable mark, committed before its call, for its lookup.
    """
    if touch.channel != "email" or _lookup_of(senders(runtime).email) is not None:
        return None
    ledger = Ledger(runtime.db, runtime.clock)
    return ledger.open_in(session.connection(), _ledger_key(touch), touch.channel)


def send_admitted(
    runtime: Runtime,
    key: str,
    touch: Touch | None = None,
    *,
    opened: Opened | None = None,
) -> str:
    """Send a touch the gate let through (status ``sending``); record the outcome.

    ``touch`` is the row as committed by the caller, if it has it at hand;
    ``opened`` its ledger entry, if the caller opened it (``open_send``).
    """
    if touch is None:
        with runtime.db.sessions() as session:
            touch = session.scalar(_TOUCH_BY_KEY, {"key": key})
            assert touch is not None
            session.expunge(touch)
    if touch.status != "sending":
        return touch.status

    try:
        result = _send(runtime, touch, opened)
    except DeliveryError as exc:
        if not exc.permanent:
            raise
        _record_failure(runtime, key, exc)
        return "failed"
    if result.get("recorded_as"):
        return str(result["recorded_as"])
    return _record_sent(runtime, key, touch.channel, result)


def admit_touch(runtime: Runtime, session: Session, key: str, now: datetime) -> str:
    """Ask the consent gate in ``session``; 'sending' means it may go now.

    The caller commits; only then may ``send_admitted`` send it.
    """
    return admit_staged(runtime, session, _staged_or_fail(session, key), now)


def _staged_or_fail(session: Session, key: str) -> Touch:
    touch = staged_touch(session, key)
    if touch is None:
        raise NotFoundError(f"no touch staged with key {key!r}")
    return touch


def admit_staged(
    runtime: Runtime, session: Session, touch: Touch, now: datetime
) -> str:
    """``admit_touch`` for a touch this transaction staged or locked already."""
    key = touch.idempotency_key
    if touch.status == "failed" and touch.error_code == GAVE_UP:
        # Its job gave up and an operator sent the job again: try anew.
        touch.status = "draft"
        touch.error = touch.error_code = None
    if touch.status in SETTLED or touch.status == "sending":
        return touch.status
    if touch.scheduled_for is not None and touch.scheduled_for > now:
        _schedule(session, touch, touch.scheduled_for, now)
        return touch.status

    decision = _gate(runtime, session, touch, now)
    if isinstance(decision, Deferred):
        touch.status = "deferred"
        touch.error = decision.reason
        touch.scheduled_for = decision.until
        _schedule(session, touch, decision.until, now)
        _note_deferral(session, touch)
        log.info(
            "touch.deferred",
            key=key,
            until=decision.until.isoformat(),
            reason=decision.reason,
        )
        return "deferred"
    if isinstance(decision, Blocked):
        touch.status = "blocked"
        touch.error = decision.reason
        log.info("touch.blocked", key=key, reason=decision.reason)
        return "blocked"

    touch.status = "sending"
    touch.error = None
    return "sending"


def _gate(runtime: Runtime, session: Session, touch: Touch, now: datetime) -> Any:
    placement = None
    if touch.channel in ("sms", "call"):
        # Only texts and calls have quiet hours, placed by the contact's zone.
        contact = session.get(Contact, touch.contact_id) if touch.contact_id else None
        recipient = Recipient(
            timezone=contact.timezone if contact else None,
            country=contact.country if contact else None,
            region=contact.region if contact else None,
            phone_e164=touch.to_address,
        )
        placement = place_recipient(recipient, runtime.workspace.team.timezone)
    mailbox = senders(runtime).mailbox if touch.channel == "email" else None
    decision = check_send(
        session,
        channel=touch.channel,
        address=touch.to_address,
        contact_id=touch.contact_id,
        now=now,
        limits=runtime.workspace.respond.limits,
        placement=placement,
        mailbox=mailbox,
    )
    return decision if decision is not None else Allowed()


def _schedule(session: Session, touch: Touch, when: datetime, now: datetime) -> None:
    key = f"send:{touch.idempotency_key}:{when:%Y%m%dT%H%M%S}"
    enqueue(
        session,
        "respond.send_touch",
        {"key": touch.idempotency_key},
        key=key,
        due_at=when,
        now=now,
    )


def _note_deferral(session: Session, touch: Touch) -> None:
    # A first touch held back by consent rules is "deferred by policy", which
    # the SLA check and the reports keep apart from a miss.
    if touch.purpose != "first_touch" or touch.inbound_id is None:
        return
    inbound = session.get(Inbound, touch.inbound_id)
    if inbound is not None and inbound.first_touch_at is None:
        inbound.sla_state = "deferred_by_policy"


def _ledger_key(touch: Touch) -> str:
    return f"touch:{touch.idempotency_key or ''}"


def _send(runtime: Runtime, touch: Touch, opened: Opened | None) -> Result:
    ledger = Ledger(runtime.db, runtime.clock)
    key = touch.idempotency_key or ""
    ledger_key = _ledger_key(touch)
    wires = senders(runtime)

    if touch.channel == "email":
        message = email_from_touch(touch)

        def on_accepted(result: Result) -> None:
            # Record the send the instant the server took it, and close the
            # ledger entry in the same commit: a crash after this point leaves
            # a settled touch, which no retry sends again.
            now = runtime.clock.now()
            sent = ledger.settle(
                ledger_key,
                result,
                lambda conn: _write_sent(conn, key, "email", result, now),
            )
            result["recorded_as"] = _log_sent(key, "email", sent)

        def lookup() -> Result | None:
            return _accepted_receipt(runtime, key) or _channel_lookup(
                wires.email, message
            )

        outcome = ledger.perform(
            ledger_key,
            "email",
            lambda: wires.email.send(message, on_accepted=on_accepted),
            lookup,
            opened=opened,
        )
        return outcome.result

    if touch.channel == "sms":
        if wires.sms is None:
            raise DeliveryError(
                wires.sms_unavailable
                or "no SMS channel is configured; add channels.twilio to the workspace",
                permanent=True,
            )
        sms = SmsMessage(
            to=touch.to_address or "",
            body=touch.body or "",
            key=key,
            status_callback=wires.status_callback,
        )
        sms_channel = wires.sms
        outcome = ledger.perform(
            ledger_key,
            "sms",
            lambda: sms_channel.send(sms),
            lambda: sms_channel.lookup(sms),
            opened=opened,
        )
        return outcome.result

    raise DeliveryError(
        f"touch channel {touch.channel!r} cannot be sent here", permanent=True
    )


def _channel_lookup(channel: Any, message: EmailMessage) -> Result | None:
    lookup = _lookup_of(channel)
    return lookup(message) if lookup is not None else None


def _lookup_of(channel: Any) -> Any:
    # An email channel may or may not be able to tell what it sent.
    return getattr(channel, "lookup", None)


def _accepted_receipt(runtime: Runtime, key: str) -> Result | None:
    # The 250 was recorded on the touch: the message left, whatever the ledger says.
    with runtime.db.sessions() as session:
        row = session.execute(_RECEIPT, {"key": key}).first()
    if row is None or row.status not in SETTLED:
        return None
    return {"message_id": row.message_id, "provider": "receipt"}


def email_from_touch(touch: Touch) -> EmailMessage:
    """Rebuild the exact email a staged touch holds (a retry sends the same)."""
    meta = touch.meta or {}
    text = touch.body or ""
    return EmailMessage(
        to=touch.to_address or "",
        from_address=touch.from_address or "",
        subject=touch.subject or "",
        text=text,
        html=html_from_text(text),
        message_id=touch.message_id or "",
        from_name=meta.get("from_name"),
        to_name=meta.get("to_name"),
        reply_to=meta.get("reply_to"),
        in_reply_to=meta.get("in_reply_to"),
        references=tuple(meta.get("references") or ()),
        headers=dict(meta.get("headers") or {}),
        date=touch.created_at,
    )


def _record_sent(runtime: Runtime, key: str, channel: str, result: Result) -> str:
    now = runtime.clock.now()
    # Core statements on a write connection: no session to set up.
    with runtime.db.write_connection() as conn:
        sent = _write_sent(conn, key, channel, result, now)
    return _log_sent(key, channel, sent)


@dataclass(frozen=True)
class _Sent:
    """What recording a send found: the touch's status, and whether it was new."""

    status: str
    to_address: str | None = None
    new: bool = True


def _write_sent(
    conn: Connection, key: str, channel: str, result: Result, now: datetime
) -> _Sent:
    status = "sent" if channel == "email" else str(result.get("status") or "queued")
    params = {
        "key": key,
        "sent_status": status,
        "sent_provider_id": str(result.get("sid") or result.get("message_id") or ""),
        "sent_time": now,
        "sent_latency_ms": result.get("latency_ms"),
        "sent_segments": int(result["segments"]) if result.get("segments") else None,
    }
    row = _MARK_SENT.run(conn, params).first()
    if row is None:
        return _Sent(_settled_status(conn, key), new=False)
    if row.purpose == "first_touch" and row.inbound_id is not None:
        _MARK_FIRST_TOUCH.run(conn, {"inbound_id": row.inbound_id, "touched_at": now})
    return _Sent(status, row.to_address)


def _log_sent(key: str, channel: str, sent: _Sent) -> str:
    # After the commit: a line for a send that is on record.
    if sent.new:
        to = sent.to_address
        masked = mask_email(to) if channel == "email" else mask_phone(to)
        log.info("touch.sent", key=key, channel=channel, to=masked, status=sent.status)
    return sent.status


def _settled_status(conn: Connection, key: str) -> str:
    # Recorded before (by on_accepted, or a retry): leave it as it is.
    status = _STATUS.run(conn, {"key": key}).scalar()
    assert status is not None, f"no touch staged with key {key!r}"
    return str(status)


def _record_failure(runtime: Runtime, key: str, exc: DeliveryError) -> None:
    with runtime.db.transaction() as session:
        touch = session.scalar(_TOUCH_BY_KEY, {"key": key})
        assert touch is not None
        touch.status = "failed"
        touch.error = str(exc)[:2000]
        touch.error_code = exc.provider_code or None
        reopened = reopen_answered_by(session, touch, runtime.clock.now())
    log.warning(
        "touch.failed",
        key=key,
        error=str(exc),
        code=exc.provider_code,
        reopened_inbounds=reopened or None,
    )


def give_up_touches(
    runtime: Runtime,
    reason: str,
    *,
    key: str | None = None,
    first_touch_of: int | None = None,
) -> int:
    """Record as failed the touches a dead job will never send; return how many.

    ``key`` names one touch; ``first_touch_of`` an inbound whose first-touch
    touches are meant. Only touches still unsent (``draft``, ``sending``)
    change: one that left, or failed for its own reason, keeps its record.
    """
    if key is not None:
        which = _TOUCHES.c.idempotency_key == key
    elif first_touch_of is not None:
        which = (_TOUCHES.c.inbound_id == first_touch_of) & (
            _TOUCHES.c.purpose == "first_touch"
        )
    else:
        raise ValueError("give_up_touches needs a key or an inbound")
    # One transaction: the touches failed and the inbounds counted on them
    # reopened, or neither.
    reopened: list[int] = []
    with runtime.db.transaction() as session:
        failed = session.execute(
            update(_TOUCHES)
            .where(which, _TOUCHES.c.status.in_(_UNSENT))
            .values(
                status="failed",
                error=f"gave up: {reason}"[:2000],
                error_code=GAVE_UP,
            )
            .returning(_TOUCHES.c.idempotency_key)
        ).all()
        keys = [row.idempotency_key for row in failed]
        if keys:
            touches = session.scalars(
                select(Touch).where(Touch.idempotency_key.in_(keys))
            )
            for touch in touches:
                reopened += reopen_answered_by(session, touch, runtime.clock.now())
    for key_ in keys:
        log.error("touch.gave_up", key=key_, reason=reason)
    if reopened:
        log.warning("touch.gave_up_reopened", inbounds=reopened)
    return len(failed)
