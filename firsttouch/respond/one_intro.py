"""One introduction per buyer: a second inbound soon after the first is
answered by the first touch already on its way.

A buyer who fills in the demo form, then the pricing form, then writes from
another spelling of their address is one contact with three inbounds. Each
inbound's first-touch job would otherwise introduce the owner again. Inside
the staging transaction the contact's row is locked first, so two workers
staging touches for one contact take turns (SQLite's writer lock already
serialises them); the second then sees the first one's touch and stages
nothing. The owner still follows up by hand as for any lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from firsttouch.jobs.queue import enqueue
from firsttouch.respond.context import Lead
from firsttouch.store.fixed_lists import none_of
from firsttouch.store.models import Contact, Inbound, Touch
from firsttouch.store.prepared import Prepared
from firsttouch.store.types import UTCDateTime

# A touch in any of these never reached the buyer and never will.
NOT_DELIVERED = ("blocked", "failed", "cancelled")

# NO KEY UPDATE: two first touches of one contact wait for each other,
# while inserts that only reference the contact (its touches) do not.
# Not sent to SQLite, whose writer lock already serialises the transactions.
_LOCK_CONTACT = (
    select(Contact.id)
    .where(Contact.id == bindparam("contact_id"))
    .with_for_update(key_share=True)
)
# A statement of its own, after the lock: under READ COMMITTED a statement
# that waited for a lock still reads the snapshot it started with, so a
# join with the lock would miss the touch the other worker just committed.
_EARLIER_INTRO = Prepared(
    select(Touch.id, Touch.inbound_id, Touch.sent_at, Touch.created_at)
    .where(
        Touch.contact_id == bindparam("contact_id"),
        Touch.purpose == "first_touch",
        Touch.inbound_id != bindparam("inbound_id"),
        none_of(Touch.__table__.c.status, NOT_DELIVERED),
        Touch.created_at >= bindparam("since", type_=UTCDateTime()),
    )
    .order_by(Touch.id)
    .limit(1)
)


@dataclass(frozen=True)
class EarlierIntro:
    """The first touch that already introduced us to this lead's contact."""

    touch_id: int
    inbound_id: int | None
    at: datetime


def earlier_intro(
    session: Session, lead: Lead, hours: int, now: datetime
) -> EarlierIntro | None:
    """Return the contact's first touch of another inbound within ``hours``.

    Locks the contact's row (PostgreSQL) until the caller commits: call it
    before staging anything in the transaction.
    """
    if hours <= 0 or lead.contact_id is None:
        return None

    if session.get_bind().dialect.name != "sqlite":
        session.execute(_LOCK_CONTACT, {"contact_id": lead.contact_id})
    row = _EARLIER_INTRO.run(
        session,
        {
            "contact_id": lead.contact_id,
            "inbound_id": lead.inbound_id,
            "since": now - timedelta(hours=hours),
        },
    ).first()
    if row is None:
        return None
    return EarlierIntro(row.id, row.inbound_id, row.sent_at or row.created_at)


def mark_answered_by(
    session: Session, lead: Lead, intro: EarlierIntro, hours: int
) -> None:
    """Record the inbound as answered by ``intro``: its SLA met, the reason kept."""
    inbound = session.get(Inbound, lead.inbound_id)
    assert inbound is not None  # read in this same transaction
    # The buyer had their answer when this arrived (or as it was written).
    received = inbound.received_at
    inbound.first_touch_at = max(intro.at, received) if received else intro.at
    if inbound.sla_state != "deferred_by_policy":
        inbound.sla_state = "met"
    inbound.fields = {
        **(inbound.fields or {}),
        "first_touch_by": {
            "touch_id": intro.touch_id,
            "inbound_id": intro.inbound_id,
            "reason": (
                f"the buyer got a first touch (inbound {intro.inbound_id}) less "
                f"than {hours} h before; no second introduction"
            ),
        },
    }


def reopen_answered_by(session: Session, touch: Touch, now: datetime) -> list[int]:
    """Answer after all the inbounds that counted ``touch`` as their intro.

    It was staged when they came, and has now failed for good: the buyer got
    no introduction, so each such inbound is waiting again and its first
    touch is queued anew (``earlier_intro`` no longer counts a failed one).
    Returns their ids.
    """
    if touch.contact_id is None or touch.purpose != "first_touch":
        return []
    candidates = session.scalars(
        select(Inbound).where(
            Inbound.contact_id == touch.contact_id,
            Inbound.id != touch.inbound_id,
            Inbound.sla_state == "met",
        )
    )
    reopened = []
    for inbound in candidates:
        fields = dict(inbound.fields or {})
        answered_by = fields.get("first_touch_by") or {}
        if answered_by.get("touch_id") != touch.id:
            continue
        fields.pop("first_touch_by")
        fields["first_touch_by_failed"] = {
            "touch_id": touch.id,
            "reason": "the earlier first touch failed; this inbound is answered itself",
        }
        inbound.fields = fields
        inbound.first_touch_at = None
        inbound.sla_state = "waiting"
        enqueue(
            session,
            "respond.first_touch",
            {"inbound_id": inbound.id},
            key=f"first_touch:{inbound.id}:after:{touch.id}",
            now=now,
        )
        reopened.append(inbound.id)
    return reopened
