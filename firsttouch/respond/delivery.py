"""Delivery status callbacks and SMS keywords: what happened after a send.

Twilio posts ``MessageStatus`` (queued, sending, sent, delivered,
undelivered, failed, read) with ``ErrorCode`` to the ``StatusCallback`` we
give each message. Callbacks may arrive out of order and more than once, so
a touch only moves forward. Error 21610 means the recipient has replied
STOP to this sender: the number is opted out here as well.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from firsttouch.logs import get_logger, mask_phone
from firsttouch.respond.consent import record_opt_in, record_opt_out
from firsttouch.store.models import Touch

log = get_logger(__name__)

OPTED_OUT_ERROR = "21610"
# How far along a message is; a later callback never moves it back.
RANK = {
    "draft": 0,
    "deferred": 0,
    "sending": 1,
    "accepted": 1,
    "queued": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 4,
    "failed": 4,
}
FINAL = frozenset({"delivered", "undelivered", "failed", "read"})


def apply_status(
    session: Session,
    provider_id: str,
    status: str,
    error_code: str | None,
    now: datetime,
) -> Touch | None:
    """Record a provider's status for the touch it sent; return that touch."""
    status = status.lower()
    touch = session.scalar(select(Touch).where(Touch.provider_id == provider_id))
    if touch is None or status not in RANK:
        return touch

    if _moves_forward(touch.status, status):
        touch.status = status
        if error_code:
            touch.error_code = error_code
            touch.error = f"provider error {error_code}"
        meta = dict(touch.meta or {})
        meta.setdefault("statuses", []).append([status, now.isoformat()])
        touch.meta = meta

    if error_code == OPTED_OUT_ERROR and touch.to_address:
        record_opt_out(
            session,
            "sms",
            touch.to_address,
            source="twilio_21610",
            now=now,
            evidence=f"status callback for {provider_id}",
            contact_id=touch.contact_id,
        )
    log.info(
        "touch.status_updated", touch_id=touch.id, status=status, error_code=error_code
    )
    return touch


def _moves_forward(current: str, new: str) -> bool:
    if current in FINAL and current != "delivered":
        return False
    return RANK.get(new, 0) > RANK.get(current, 0) or (
        current == "delivered" and new == "read"
    )


def apply_sms_keyword(
    session: Session,
    phone: str,
    meaning: str,
    *,
    now: datetime,
    evidence: str | None = None,
    contact_id: int | None = None,
) -> None:
    """Act on an SMS keyword: 'opt_out' (STOP...), 'opt_in' (START, UNSTOP)."""
    if meaning == "opt_out":
        record_opt_out(
            session,
            "sms",
            phone,
            source="sms_keyword",
            now=now,
            evidence=evidence,
            contact_id=contact_id,
        )
    elif meaning == "opt_in":
        record_opt_in(
            session,
            "sms",
            phone,
            source="sms_keyword",
            form=None,
            now=now,
            evidence=evidence,
            contact_id=contact_id,
        )
    log.info("consent.sms_keyword", phone=mask_phone(phone), meaning=meaning)
