"""Job handlers of this layer, by job kind; the worker entry point maps them.

- ``respond.first_touch`` {inbound_id}: plan, write and send the first touch.
- ``respond.send_touch`` {key}: send a staged touch whose time has come.
- ``respond.sla_check`` {inbound_id}: check the first-touch deadline.
- ``respond.sla_escalate`` {inbound_id, clock?}: tell the manager if the
  breach of that clock (first touch unless ``clock: human``) still stands.
- ``respond.consent`` {inbound_id}: act on an SMS STOP / START / HELP, or
  on an email reply that asks to unsubscribe.
- ``respond.human_sla_check`` {inbound_id}: check a person's follow-up.
- ``respond.alert_owner``, ``respond.call_bridge`` and ``respond.send_invite``
  are built by the alerts, call bridge and invites modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from firsttouch.respond.alerts import alert_owner_handler
from firsttouch.respond.call_bridge import call_bridge_handler
from firsttouch.respond.consent import is_unsubscribe_reply, record_opt_out
from firsttouch.respond.delivery import apply_sms_keyword
from firsttouch.respond.first_touch import run_first_touch
from firsttouch.respond.invites import send_invite_handler
from firsttouch.respond.sla import (
    check_first_touch_sla,
    check_human_follow_up,
    escalate_to_manager,
)
from firsttouch.respond.touches import (
    Draft,
    deliver_touch,
    give_up_touches,
    stage_touch,
)
from firsttouch.store.models import Contact, Inbound

if TYPE_CHECKING:
    from firsttouch.jobs.runner import GiveUp, Handler, JobContext
    from firsttouch.runtime import Runtime


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """Return this layer's handlers, keyed by the job kinds it owns."""

    def first_touch(ctx: JobContext) -> None:
        run_first_touch(runtime, int(ctx.payload["inbound_id"]))

    def send_touch(ctx: JobContext) -> None:
        deliver_touch(runtime, str(ctx.payload["key"]))

    def sla_check(ctx: JobContext) -> None:
        check_first_touch_sla(runtime, int(ctx.payload["inbound_id"]))

    def human_sla_check(ctx: JobContext) -> None:
        check_human_follow_up(runtime, int(ctx.payload["inbound_id"]))

    def sla_escalate(ctx: JobContext) -> None:
        clock = str(ctx.payload.get("clock", "first_touch"))
        escalate_to_manager(runtime, int(ctx.payload["inbound_id"]), clock)

    def consent(ctx: JobContext) -> None:
        inbound_id = int(ctx.payload["inbound_id"])
        if handle_unsubscribe_reply(runtime, inbound_id) is None:
            handle_sms_keyword(runtime, inbound_id)

    return {
        "respond.first_touch": first_touch,
        "respond.send_touch": send_touch,
        "respond.sla_check": sla_check,
        "respond.sla_escalate": sla_escalate,
        "respond.human_sla_check": human_sla_check,
        "respond.consent": consent,
        "respond.alert_owner": alert_owner_handler(runtime),
        "respond.call_bridge": call_bridge_handler(runtime),
        "respond.send_invite": send_invite_handler(runtime),
    }


def give_ups(runtime: Runtime) -> dict[str, GiveUp]:
    """Return what to record when a job of this layer goes dead, by kind.

    A touch its job will now never send is marked failed with the reason,
    so the dashboard and the SLA check see a failure, not a send in progress.
    """

    def first_touch(ctx: JobContext, reason: str) -> None:
        inbound_id = int(ctx.payload["inbound_id"])
        give_up_touches(runtime, reason, first_touch_of=inbound_id)

    def send_touch(ctx: JobContext, reason: str) -> None:
        give_up_touches(runtime, reason, key=str(ctx.payload["key"]))

    def consent(ctx: JobContext, reason: str) -> None:
        key = f"help:{int(ctx.payload['inbound_id'])}"
        give_up_touches(runtime, reason, key=key)

    return {
        "respond.first_touch": first_touch,
        "respond.send_touch": send_touch,
        "respond.consent": consent,
    }


def handle_unsubscribe_reply(runtime: Runtime, inbound_id: int) -> str | None:
    """Opt the sender out when an email reply asks to unsubscribe."""
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None or inbound.channel != "email":
            return None
        if not is_unsubscribe_reply(inbound.subject, inbound.body_text):
            return None
        contact = (
            session.get(Contact, inbound.contact_id) if inbound.contact_id else None
        )
        address = (inbound.fields or {}).get("from") or (
            contact.email if contact else None
        )
        if not address:
            return None
        record_opt_out(
            session,
            "email",
            str(address),
            source="unsubscribe_reply",
            now=runtime.clock.now(),
            evidence=f"inbound {inbound_id}",
            contact_id=inbound.contact_id,
        )
        return "opt_out"


def _sender_of(inbound: Inbound, contact: Contact | None) -> str | None:
    if contact is not None and contact.phone_e164:
        return contact.phone_e164
    fields: dict[str, Any] = inbound.fields or {}
    if fields.get("from"):
        return str(fields["from"])
    # Twilio's webhook body is form-encoded and kept verbatim as ``raw``.
    sender = parse_qs(inbound.raw or "").get("From", [None])[0]
    return sender.split(":", 1)[-1] if sender else None


def handle_sms_keyword(runtime: Runtime, inbound_id: int) -> str | None:
    """Act on the keyword an SMS inbound carries; return its meaning."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None:
            return None
        meaning = (inbound.fields or {}).get("consent")
        contact = (
            session.get(Contact, inbound.contact_id) if inbound.contact_id else None
        )
        phone = _sender_of(inbound, contact)
        if meaning not in ("opt_out", "opt_in", "help") or not phone:
            return None
        if meaning != "help":
            word = (inbound.fields or {}).get("sms_keyword", meaning)
            apply_sms_keyword(
                session,
                phone,
                meaning,
                now=now,
                evidence=f"inbound {inbound_id}: {word}",
                contact_id=inbound.contact_id,
            )
            return str(meaning)
        key = f"help:{inbound_id}"
        stage_touch(session, _help_draft(runtime, key, phone, inbound), now)

    deliver_touch(runtime, key)
    return "help"


def _help_draft(runtime: Runtime, key: str, phone: str, inbound: Inbound) -> Draft:
    company = runtime.workspace.company
    contact_line = company.website or company.name
    text = (
        f"{company.name}: we answer questions by text here, or see "
        f"{contact_line}. Reply STOP to opt out."
    )
    return Draft(
        key=key,
        channel="sms",
        to=phone,
        text=text,
        purpose="help",
        inbound_id=inbound.id,
        contact_id=inbound.contact_id,
    )
