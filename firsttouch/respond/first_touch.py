"""The first touch of one inbound: plan it, write it, send it.

``run_first_touch`` reads the inbound and its contact, picks the policy
(channel, source and, when already known, route), renders each action's
template with the lead's values, stages every touch in one transaction and
then delivers those that are due now. A buyer introduced to us by another
inbound's first touch a short while ago gets nothing more (``one_intro``).
A template that cannot be rendered into a message fit to send (no fallback
for a field) stages nothing for that action; the failure is recorded as a
blocked touch with its reason and the SLA check escalates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from firsttouch.channels.control_chars import header_text, sms_text
from firsttouch.channels.smtp import make_message_id
from firsttouch.errors import DeliveryError
from firsttouch.jobs.queue import enqueue
from firsttouch.logs import get_logger
from firsttouch.respond.context import (
    Lead,
    load_lead,
    owner_of,
    plain_text,
    template_context,
)
from firsttouch.respond.one_intro import earlier_intro, mark_answered_by
from firsttouch.respond.policies import PlannedTouch, plan_first_touch
from firsttouch.respond.senders import senders
from firsttouch.respond.templates import TemplateError, render_template
from firsttouch.respond.touches import (
    Draft,
    admit_staged,
    open_send,
    send_admitted,
    stage_admitted,
    staged_touch,
)
from firsttouch.respond.unsubscribe import (
    UnsubscribeTarget,
    list_unsubscribe_headers,
    make_token,
    unsubscribe_url,
)
from firsttouch.store.models import Inbound, Touch
from firsttouch.workspace.team import Rep

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime

log = get_logger(__name__)

EMAIL_ACTIONS = ("email", "email_reply", "booking_link")
SMS_ACTIONS = ("sms", "sms_reply", "sms_textback")
# The status of each action of a lead the buyer's earlier first touch answered.
ANSWERED_EARLIER = "answered_earlier"
# Delegated to the call bridge module, which owns its own job kind.
CALL_BRIDGE_KIND = "respond.call_bridge"


def run_first_touch(runtime: Runtime, inbound_id: int) -> dict[str, str]:
    """Send the first touch of ``inbound_id``; return each action's status."""
    now = runtime.clock.now()
    # The messages are written before the transaction: rendering templates
    # and signing links is most of the work, and on SQLite every other
    # writer would wait for it. The transaction reads the lead again and
    # writes them anew in the rare case it changed meanwhile.
    with runtime.db.engine.connect() as reading:
        seen = load_lead(reading, inbound_id)
    if seen is None or seen.status in ("recorded", "reply"):
        return {}
    plan = _plan(runtime, seen, now)

    # No fsync of its own (SQLite): nothing leaves before a durable pending
    # mark where a lost one would matter (``open_send``); lost to a power
    # cut, the job, whose completion commits later, stages it all again.
    with runtime.db.transaction(durable=False) as session:
        lead = load_lead(session, inbound_id)
        if lead is None or lead.status in ("recorded", "reply"):
            return {}
        if lead != seen:
            plan = _plan(runtime, lead, now)
        # Before anything is staged: it locks the contact against a second
        # worker introducing us to the same buyer at the same moment.
        hours = runtime.workspace.respond.limits.one_intro_hours
        intro = earlier_intro(session, lead, hours, now)
        if intro is not None:
            mark_answered_by(session, lead, intro, hours)
            log.info(
                "first_touch.answered_earlier",
                inbound_id=inbound_id,
                touch_id=intro.touch_id,
            )
            return {step.planned.action: ANSWERED_EARLIER for step in plan}
        # The gate decides in the staging transaction: one commit, not two.
        staged = _stage_all(runtime, session, lead, plan, now)
        statuses = {
            action: touch.status
            for action, touch in staged.items()
            if touch is not None
        }
        # The first send's ledger entry may open in it too: one commit before
        # the call, not two. Only the first: a later send's lease would block
        # its retry for a lease's length if an earlier send failed the job.
        first = next((t for t in staged.values() if _sends_now(t)), None)
        opened = open_send(runtime, session, first) if first is not None else None

    # One channel down must not hold the others back: a text still goes
    # while the mail server is unreachable. The job then fails with the
    # first such error and its retry sends only what has not left.
    unreachable: DeliveryError | None = None
    for action, status in list(statuses.items()):
        touch = staged[action]
        if status == "sending" and touch is not None:
            key = str(touch.idempotency_key)
            opening = opened if touch is first else None
            try:
                statuses[action] = send_admitted(runtime, key, touch, opened=opening)
            except DeliveryError as exc:
                unreachable = unreachable or exc
    if unreachable is not None:
        raise unreachable
    return statuses


def _sends_now(touch: Touch | None) -> bool:
    return touch is not None and touch.status == "sending"


@dataclass(frozen=True)
class _Step:
    """One planned action and the message it sends (none for a call bridge)."""

    planned: PlannedTouch
    key: str
    draft: Draft | None


def _plan(runtime: Runtime, lead: Lead, now: datetime) -> list[_Step]:
    """The lead's policy, each action's message written; no database."""
    plan = plan_first_touch(
        runtime.workspace.respond,
        channel=lead.channel,
        source=lead.source,
        route=lead.route,
        has_email=bool(lead.email),
        has_phone=bool(lead.phone),
    )
    steps = []
    for planned in plan:
        key = f"first_touch:{lead.inbound_id}:{planned.action}"
        draft = (
            None
            if planned.action == "call_bridge"
            else compose(runtime, lead, planned, key, now)
        )
        steps.append(_Step(planned, key, draft))
    return steps


def _stage_all(
    runtime: Runtime, session: Session, lead: Lead, plan: list[_Step], now: datetime
) -> dict[str, Touch | None]:
    """Stage each planned action's touch and take it through the gate.

    A call bridge is a job, not a touch.
    """
    if not plan:
        inbound = session.get(Inbound, lead.inbound_id)
        if inbound is not None:
            inbound.sla_state = "no_channel"
        log.warning("first_touch.no_channel", inbound_id=lead.inbound_id)
        return {}

    staged: dict[str, Touch | None] = {}
    for step in plan:
        action = step.planned.action
        if step.draft is None:
            enqueue(
                session,
                CALL_BRIDGE_KIND,
                {"inbound_id": lead.inbound_id},
                key=f"call_bridge:{lead.inbound_id}",
                now=now,
            )
            staged[action] = None
            continue
        # Staged by an earlier run of this job: that message, not a new one.
        touch = staged_touch(session, step.key)
        if touch is not None:
            admit_staged(runtime, session, touch, now)
        else:
            draft = step.draft
            if action == "sms_textback":
                draft = _textback_allowed(runtime, session, lead, draft, now)
            touch = stage_admitted(runtime, session, draft, now)
        staged[action] = touch
    return staged


def _textback_allowed(
    runtime: Runtime, session: Session, lead: Lead, draft: Draft, now: datetime
) -> Draft:
    """Keep a missed-call text-back only where the call bridge rules allow it."""
    from firsttouch.respond.call_bridge import textback_decision

    inbound = session.get(Inbound, lead.inbound_id)
    assert inbound is not None  # read in this same transaction
    decision = textback_decision(session, runtime.workspace, inbound, lead.phone, now)
    if decision.send:
        return draft
    meta = {**draft.meta, "blocked": f"textback: {decision.reason}"}
    return replace(draft, meta=meta)


def compose(
    runtime: Runtime,
    lead: Lead,
    step: PlannedTouch,
    key: str,
    now: datetime,
    *,
    purpose: str = "first_touch",
) -> Draft:
    """Write the message one planned action sends, ready to stage.

    Later steps (follow-ups, nurture) use it with their own ``purpose``;
    their email carries the sender's postal address and an unsubscribe line
    in the body as well as in the headers.
    """
    workspace = runtime.workspace
    owner = owner_of(workspace, lead)
    channel = "email" if step.action in EMAIL_ACTIONS else "sms"
    to = lead.email if channel == "email" else lead.phone
    scheduled = (
        now + timedelta(seconds=step.delay_seconds) if step.delay_seconds else None
    )
    base: dict[str, Any] = {
        "key": key,
        "channel": channel,
        "to": to,
        "template": step.template,
        "inbound_id": lead.inbound_id,
        "contact_id": lead.contact_id,
        "owner_id": owner.id,
        "scheduled_for": scheduled,
        "purpose": purpose,
    }

    context = template_context(
        workspace, lead, owner, booking_url(runtime, lead, owner)
    )
    try:
        if step.template is None:
            raise TemplateError(f"action {step.action!r} names no template")
        rendered = render_template(workspace.templates, step.template, context)
    except TemplateError as exc:
        # Nothing half-merged may leave: stage a touch the gate will never see.
        log.warning("first_touch.template_failed", key=key, error=str(exc))
        return Draft(**base, text="", meta={"blocked": str(exc)})

    if channel == "sms":
        # A name with a tab or a NUL in it would make a provider refuse the
        # text (and PostgreSQL the touch): line feeds stay, the rest is a space.
        text = sms_text(rendered.text)
        return Draft(**base, text=text, meta={"action": step.action})
    return _email_draft(runtime, lead, owner, step, base, rendered)


def _email_draft(
    runtime: Runtime,
    lead: Lead,
    owner: Rep,
    step: PlannedTouch,
    base: dict[str, Any],
    rendered: Any,
) -> Draft:
    wires = senders(runtime)
    settings = runtime.settings
    key = base["key"]
    salt = hashlib.sha256(settings.secret_key.reveal().encode()).hexdigest()[:12]
    message_id = make_message_id(key, wires.from_address, salt)

    subject = (
        rendered.subject
        or f"Thanks for reaching out to {runtime.workspace.company.name}"
    )
    meta: dict[str, Any] = {
        "action": step.action,
        "from_name": f"{owner.name} ({wires.from_name})"
        if wires.from_name
        else owner.name,
        "to_name": " ".join(
            p for p in map(plain_text, (lead.first_name, lead.last_name)) if p
        )
        or None,
        "reply_to": owner.email,
    }

    # Answering an email: the same subject and both threading headers
    # (RFC 5322 section 3.6.4), so it lands in the buyer's thread.
    if step.action == "email_reply" and lead.message_id:
        parent = _angle(lead.message_id)
        earlier = [_angle(r) for r in lead.fields.get("references") or [] if r]
        if not earlier and lead.in_reply_to:
            earlier = [_angle(lead.in_reply_to)]
        meta["in_reply_to"] = parent
        meta["references"] = [*earlier, parent]
        if lead.subject:
            subject = (
                lead.subject
                if lead.subject.lower().startswith("re:")
                else (f"Re: {lead.subject}")
            )

    token = make_token(
        settings.secret_key, UnsubscribeTarget("email", base["to"] or "", key)
    )
    url = unsubscribe_url(settings.public_url, token)
    meta["headers"] = list_unsubscribe_headers(url, wires.from_address)
    text = rendered.text
    if base["purpose"] != "first_touch":
        text = f"{text}\n\n{followup_footer(runtime, url)}"
    return Draft(
        **base,
        from_address=wires.from_address,
        # The wire folds it as well; the touch records what the buyer sees.
        subject=header_text(subject),
        text=text,
        message_id=message_id,
        meta=meta,
    )


def followup_footer(runtime: Runtime, unsubscribe_link: str) -> str:
    """Return the footer of follow-up mail: postal address and opt-out link."""
    company = runtime.workspace.company
    # CAN-SPAM (15 U.S.C. 7704(a)(5)) asks commercial mail for a valid
    # physical postal address and a working way to opt out.
    return (
        f"--\n{company.name}, {company.postal_address}\n"
        f"No more emails from us: {unsubscribe_link}"
    )


def _angle(message_id: str) -> str:
    bare = message_id.strip().strip("<>").strip()
    return f"<{bare}>"


def booking_url(runtime: Runtime, lead: Lead, owner: Rep) -> str:
    """Return the lead's booking link: the team's own, or the built-in page."""
    external = runtime.workspace.respond.booking.external_url
    if external:
        return external
    from firsttouch.respond import booking

    claims = booking.BookingClaims(owner.id, lead.inbound_id, lead.contact_id)
    token = booking.issue_token(runtime.settings.secret_key, runtime.clock, claims)
    return booking.booking_url(runtime.settings.public_url, token)
