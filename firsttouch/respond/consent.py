"""The one gate every send passes: opt-outs, quiet hours, caps and limits.

``check_send`` answers ``Allowed``, ``Deferred(until, reason)`` or
``Blocked(reason)``. It reads the session it is given and, for an allowed
email, counts the send against the sending mailbox's minute and day limits
in that same session, so the caller's commit is what spends the allowance.

Opt-outs are keyed on the normalised address or number (``OptOut``), never
on the contact, so they survive the contact's deletion. Consent comes back
only through ``record_opt_in``: an explicit act with its source, time and
form, kept as a ``ConsentEvent``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import phonenumbers
from sqlalchemy import Table, bindparam, func, select, text
from sqlalchemy.orm import Session

from firsttouch.respond.quiet_hours import (
    Placement,
    attempt_cap,
    describe,
    next_allowed,
)
from firsttouch.store.fixed_lists import one_of
from firsttouch.store.models import ConsentEvent, OptOut, SendCounter, Touch
from firsttouch.store.prepared import Prepared
from firsttouch.workspace.respond import Limits

# CTIA and carrier guidance: these words end all texts from a sender.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
PHONE_CHANNELS = ("sms", "call")
TOUCH_CHANNELS = ("email", "sms", "call")
COUNTED_STATES = ("queued", "sending", "sent", "delivered")


# Every send asks these. Built once (per channel set), a statement keeps its
# own cache key: a call costs neither construction nor cache-key generation.
# They name table columns, not mapped attributes, which spares each query the
# ORM's compile and load steps (the session still autoflushes before them).
_OPT_OUTS = cast(Table, OptOut.__table__)
_TOUCHES = cast(Table, Touch.__table__)
_COUNTERS = cast(Table, SendCounter.__table__)


@functools.cache
def _opted_out_statement(channels: tuple[str, ...]) -> Prepared:
    return Prepared(
        select(_OPT_OUTS.c.id).where(
            one_of(_OPT_OUTS.c.channel, channels),
            _OPT_OUTS.c.address == bindparam("address"),
            _OPT_OUTS.c.active.is_(True),
        )
    )


@functools.cache
def _recent_statement(channels: tuple[str, ...]) -> Prepared:
    return Prepared(
        select(_TOUCHES.c.created_at)
        .where(
            _TOUCHES.c.contact_id == bindparam("contact_id"),
            one_of(_TOUCHES.c.channel, channels),
            one_of(_TOUCHES.c.status, COUNTED_STATES),
            _TOUCHES.c.created_at >= bindparam("since"),
        )
        .order_by(_TOUCHES.c.created_at)
    )


# One statement spends both allowances, the minute's and the day's, each
# only while it is under its limit, and names the buckets it spent: a read
# of the counts first cost a statement on every send, and between the read
# and the write two PostgreSQL workers could both take the last send of a
# minute. Plain SQL that SQLite and PostgreSQL both speak: SQLAlchemy cannot
# cache the compiled form of its dialect upserts, and compiled them on
# every send. A new bucket starts at 1, within any limit (limits are >= 1).
_SPEND = Prepared(
    text(
        f"INSERT INTO {_COUNTERS.name} (sender, bucket, count)"
        " VALUES (:sender, :minute, 1), (:sender, :day, 1)"
        " ON CONFLICT (sender, bucket)"
        f" DO UPDATE SET count = {_COUNTERS.name}.count + 1"
        f" WHERE {_COUNTERS.name}.count < CASE WHEN {_COUNTERS.name}.bucket = :minute"
        " THEN :per_minute ELSE :per_day END"
        " RETURNING bucket"
    )
)
# A send deferred after all gives back what the statement above spent.
_GIVE_BACK = Prepared(
    text(
        f"UPDATE {_COUNTERS.name} SET count = count - 1"
        " WHERE sender = :sender AND bucket = :bucket"
    )
)


@dataclass(frozen=True)
class Allowed:
    pass


@dataclass(frozen=True)
class Deferred:
    until: datetime
    reason: str


@dataclass(frozen=True)
class Blocked:
    reason: str


Decision = Allowed | Deferred | Blocked


@dataclass(frozen=True)
class MailboxLimits:
    sender: str
    per_minute: int
    per_day: int


def normalise_address(channel: str, address: str, region: str = "US") -> str:
    """Return the key an opt-out is stored under: lower-case mail, E.164 phone."""
    if channel == "email":
        return address.strip().lower()
    try:
        parsed = phonenumbers.parse(address, region)
    except phonenumbers.NumberParseException:
        return address.strip()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _opt_out_channels(channel: str) -> tuple[str, ...]:
    # A STOP by text revokes consent to automated calls from us as well.
    return PHONE_CHANNELS if channel in PHONE_CHANNELS else (channel,)


def is_opted_out(session: Session, channel: str, address: str) -> bool:
    """True when ``address`` has a standing opt-out for ``channel``."""
    key = normalise_address("email" if channel == "email" else "sms", address)
    statement = _opted_out_statement(_opt_out_channels(channel))
    found = statement.run(session, {"address": key}).scalar()
    return found is not None


def record_opt_out(
    session: Session,
    channel: str,
    address: str,
    *,
    source: str,
    now: datetime,
    evidence: str | None = None,
    contact_id: int | None = None,
) -> None:
    """Record that ``address`` wants no more ``channel`` messages."""
    key = normalise_address(channel, address)
    existing = session.scalar(
        select(OptOut).where(OptOut.channel == channel, OptOut.address == key)
    )
    if existing is None:
        session.add(
            OptOut(
                channel=channel,
                address=key,
                source=source,
                evidence=evidence,
                active=True,
                created_at=now,
            )
        )
    else:
        existing.active = True
        existing.source = source
        existing.evidence = evidence
        existing.revoked_at = None
        existing.revoked_by = None
    session.add(
        ConsentEvent(
            channel=channel,
            address=key,
            action="opt_out",
            source=source,
            evidence=evidence,
            contact_id=contact_id,
            occurred_at=now,
            created_at=now,
        )
    )


def record_opt_in(
    session: Session,
    channel: str,
    address: str,
    *,
    source: str,
    form: str | None,
    now: datetime,
    evidence: str | None = None,
    contact_id: int | None = None,
) -> None:
    """Record an explicit act of consent; lift a standing opt-out if any."""
    key = normalise_address(channel, address)
    for opt_out in session.scalars(
        select(OptOut).where(
            OptOut.channel.in_(_opt_out_channels(channel)),
            OptOut.address == key,
            OptOut.active.is_(True),
        )
    ):
        opt_out.active = False
        opt_out.revoked_at = now
        opt_out.revoked_by = f"{source}: {evidence or form or 'explicit opt-in'}"
    session.add(
        ConsentEvent(
            channel=channel,
            address=key,
            action="opt_in",
            source=source,
            form=form,
            evidence=evidence,
            contact_id=contact_id,
            occurred_at=now,
            created_at=now,
        )
    )


def sms_keyword(body: str | None) -> str | None:
    """Classify an inbound text as 'stop', 'start', 'help' or None."""
    word = (body or "").strip().strip(".!").upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


# A reply that asks to stop in so many words: the subject our mailto
# List-Unsubscribe sets, or a short first line. Longer prose goes to a person.
UNSUBSCRIBE_WORDS = re.compile(
    r"^(unsubscribe|remove me|stop|opt[ -]?out|take me off|no more emails?)\b[.! ]*",
    re.IGNORECASE,
)
REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg)\s*:\s*)+", re.IGNORECASE)
SHORT_LINE = 60


def is_unsubscribe_reply(subject: str | None, body: str | None) -> bool:
    """True when an email reply plainly asks to unsubscribe."""
    topic = REPLY_PREFIX.sub("", subject or "").strip()
    if topic and len(topic) <= SHORT_LINE and UNSUBSCRIBE_WORDS.fullmatch(topic):
        return True
    lines = [ln.strip() for ln in (body or "").splitlines()]
    first = next((ln for ln in lines if ln and not ln.startswith(">")), "")
    return len(first) <= SHORT_LINE and bool(UNSUBSCRIBE_WORDS.fullmatch(first))


def _recent_touches(
    session: Session, contact_id: int, channels: tuple[str, ...], since: datetime
) -> list[datetime]:
    params = {"contact_id": contact_id, "since": since}
    return list(_recent_statement(channels).run(session, params).scalars())


def _reserve_mailbox(
    session: Session, limits: MailboxLimits, now: datetime
) -> Deferred | None:
    minute = f"m:{now:%Y-%m-%dT%H:%M}"
    day = f"d:{now:%Y-%m-%d}"
    buckets = {"sender": limits.sender, "minute": minute, "day": day}
    allowances = {"per_minute": limits.per_minute, "per_day": limits.per_day}
    spent = set(_SPEND.run(session, {**buckets, **allowances}).scalars())

    deferred = None
    if day not in spent:
        tomorrow = (now + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        deferred = Deferred(tomorrow, "mailbox_daily_limit")
    elif minute not in spent:
        next_minute = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
        deferred = Deferred(next_minute, "mailbox_minute_limit")
    if deferred is not None:
        for bucket in spent:
            _GIVE_BACK.run(session, {"sender": limits.sender, "bucket": bucket})
    return deferred


def check_send(
    session: Session,
    *,
    channel: str,
    address: str | None,
    contact_id: int | None,
    now: datetime,
    limits: Limits,
    placement: Placement | None = None,
    mailbox: MailboxLimits | None = None,
) -> Decision:
    """Decide whether a message may go to ``address`` on ``channel`` now."""
    if not address:
        return Blocked(f"no_{'email' if channel == 'email' else 'phone'}_address")
    if is_opted_out(session, channel, address):
        return Blocked("opted_out")

    # Quiet hours and state attempt caps bind texts and calls, not email.
    if channel in PHONE_CHANNELS and placement is not None:
        allowed_at = next_allowed(now, placement)
        if allowed_at > now:
            return Deferred(allowed_at, f"quiet_hours:{describe(placement)}")
        cap = attempt_cap(placement)
        if cap is not None and contact_id is not None:
            recent = _recent_touches(
                session, contact_id, PHONE_CHANNELS, now - timedelta(hours=24)
            )
            if len(recent) >= cap:
                until = next_allowed(recent[-cap] + timedelta(hours=24), placement)
                return Deferred(until, f"attempt_cap:{describe(placement)}")

    if contact_id is not None:
        window = timedelta(hours=limits.window_hours)
        recent = _recent_touches(session, contact_id, TOUCH_CHANNELS, now - window)
        if len(recent) >= limits.touches_per_contact:
            return Deferred(
                recent[-limits.touches_per_contact] + window, "contact_frequency_cap"
            )

    if channel == "email" and mailbox is not None:
        deferred = _reserve_mailbox(session, mailbox, now)
        if deferred is not None:
            return deferred
    return Allowed()


def count_consent_events(session: Session, address: str) -> int:
    """Return how many consent acts are on record for ``address``."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ConsentEvent)
            .where(ConsentEvent.address == address)
        )
        or 0
    )
