"""The call bridge: ring the owner first, then connect the buyer.

Only while the owner is working: outside their hours the bridge waits for
their next shift (a new ``respond.call_bridge`` job). The buyer's side
passes the same consent gate as any call (opt-outs, quiet hours in the
buyer's local time, attempt caps); a deferral there moves the bridge too.

The rep's phone rings from our number. When they answer, Twilio fetches the
whisper TwiML: who the lead is and what they asked about, "press 1 to
connect" (so a voicemail greeting never gets the buyer on the line). On 1,
a ``<Dial>`` rings the buyer with our number as caller ID. Each bridge
attempt is one outbound effect under its own ledger key and one ``call``
touch. A rep who misses the automatic bridge gets the lead in writing
instead (``respond.alert_owner``, reason ``bridge_missed``), call link and
all; a buyer who picks up counts as the human follow-up.

Missed inbound calls are answered by text (``textback_decision``): only when
the workspace allows it, the caller's number is real and can take texts,
and the caller was not texted back in the last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import phonenumbers
import structlog
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from firsttouch.channels.messages import CallRequest, Result, VoiceChannel
from firsttouch.channels.outbox.store import OutboxVoice
from firsttouch.channels.twilio.client import TwilioClient
from firsttouch.channels.twilio.voice import TwilioVoice
from firsttouch.config import Secret
from firsttouch.errors import InputError
from firsttouch.jobs.ledger import Ledger
from firsttouch.jobs.queue import enqueue
from firsttouch.logs import mask_phone
from firsttouch.respond.consent import Allowed, Blocked, Deferred, check_send
from firsttouch.respond.quiet_hours import Recipient, place_recipient
from firsttouch.respond.senders import built_once
from firsttouch.store.models import Contact, Inbound, Touch
from firsttouch.workspace import Workspace
from firsttouch.workspace.channels import ref_name
from firsttouch.workspace.team import DAYS, Rep

if TYPE_CHECKING:
    from firsttouch.jobs.runner import Handler, JobContext
    from firsttouch.runtime import Runtime

log = structlog.get_logger(__name__)

BRIDGE_KIND = "respond.call_bridge"
ALERT_KIND = "respond.alert_owner"
LINK_SALT = "firsttouch.bridge.v1"
# Caller IDs carriers send for withheld numbers (Twilio shows these in From).
WITHHELD = {
    "anonymous",
    "restricted",
    "unknown",
    "private",
    "unavailable",
    "+266696687",
    "+86282452253",
    "+7378742833",
    "+2562533",
}
TEXTBACK_COOLDOWN = timedelta(hours=24)


class BridgeLinkError(InputError):
    """A bridge TwiML URL is forged or damaged."""

    code = "bridge_link_invalid"
    status = 404


@dataclass(frozen=True)
class BridgeOutcome:
    """What happened: ``calling`` (with the sid), ``deferred`` or ``skipped``."""

    state: str
    reason: str = ""
    sid: str | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class BridgeTarget:
    """What a bridge URL names: the inbound, the rep and the attempt."""

    inbound_id: int
    rep_id: str
    attempt: str


# -- links Twilio calls back on --------------------------------------------


def bridge_token(secret: Secret, target: BridgeTarget) -> str:
    """Return the signed, deterministic token of a bridge attempt's URLs."""
    serializer = URLSafeSerializer(secret.reveal(), salt=LINK_SALT)
    return str(serializer.dumps([target.inbound_id, target.rep_id, target.attempt]))


def read_bridge_token(secret: Secret, token: str) -> BridgeTarget:
    """Return the target a bridge token names; raise ``BridgeLinkError``."""
    serializer = URLSafeSerializer(secret.reveal(), salt=LINK_SALT)
    try:
        inbound_id, rep_id, attempt = serializer.loads(token)
    except (BadSignature, ValueError):
        raise BridgeLinkError("this call bridge link is not valid") from None
    return BridgeTarget(int(inbound_id), str(rep_id), str(attempt))


def bridge_url(public_url: str, token: str, step: str = "") -> str:
    base = f"{public_url.rstrip('/')}/voice/bridge/{token}"
    return f"{base}/{step}" if step else base


# -- TwiML -------------------------------------------------------------------


def whisper_twiml(lead: str, topic: str | None, connect_url: str) -> str:
    """Return what the rep hears on answering: who it is, and press 1."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=connect_url, method="POST", timeout=8)
    about = f", about {topic}" if topic else ""
    gather.say(f"New lead from firsttouch: {lead}{about}. Press 1 to connect now.")
    response.append(gather)
    response.say("No key pressed. We will not connect the call. Goodbye.")
    response.hangup()
    return str(response.to_xml())


def connect_twiml(buyer_phone: str, caller_id: str, dial_url: str) -> str:
    """Return the TwiML that rings the buyer into the rep's call."""
    response = VoiceResponse()
    response.say("Connecting you now.")
    dial = Dial(caller_id=caller_id, timeout=25, action=dial_url, method="POST")
    dial.number(buyer_phone)
    response.append(dial)
    return str(response.to_xml())


def goodbye_twiml(message: str) -> str:
    """Return TwiML that says ``message`` and hangs up."""
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response.to_xml())


# -- the owner's hours -----------------------------------------------------


def next_working_moment(rep: Rep, now: datetime, days: int = 8) -> datetime | None:
    """Return ``now`` if the rep is working, else the start of their next shift."""
    if rep.is_working(now):
        return now
    zone = ZoneInfo(rep.timezone)
    today = now.astimezone(zone).date()
    for offset in range(days):
        day = today + timedelta(days=offset)
        for shift in sorted(
            rep.working_hours.get(DAYS[day.weekday()], []), key=lambda s: s.start
        ):
            start = datetime.combine(day, shift.start, tzinfo=zone).astimezone(UTC)
            if start > now:
                return start
    return None


# -- starting a bridge -------------------------------------------------------


def _topic(inbound: Inbound) -> str | None:
    text = inbound.subject or (inbound.fields or {}).get("message") or inbound.body_text
    if not text:
        return None
    words = str(text).split()
    return " ".join(words[:12]) + ("..." if len(words) > 12 else "")


def _buyer_gate(
    runtime: Runtime,
    session: Session,
    contact: Contact | None,
    phone: str,
    now: datetime,
) -> Allowed | Deferred | Blocked:
    recipient = Recipient(
        timezone=contact.timezone if contact else None,
        country=contact.country if contact else None,
        region=contact.region if contact else None,
        phone_e164=phone,
    )
    placement = place_recipient(recipient, runtime.workspace.team.timezone)
    return check_send(
        session,
        channel="call",
        address=phone,
        contact_id=contact.id if contact else None,
        now=now,
        limits=runtime.workspace.respond.limits,
        placement=placement,
    )


def start_bridge(
    runtime: Runtime,
    inbound_id: int,
    voice: VoiceChannel,
    *,
    rep_id: str | None = None,
    attempt: str = "policy",
    owner_hours: bool = True,
) -> BridgeOutcome:
    """Ring the owner (or ``rep_id``) now, if they and the buyer may be called.

    ``owner_hours=False`` is for a rep who asked for the call themselves: they
    are plainly available, so only the buyer's side is checked.
    """
    now = runtime.clock.now()
    workspace = runtime.workspace
    with runtime.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None:
            return BridgeOutcome("skipped", "inbound_missing")
        contact = (
            session.get(Contact, inbound.contact_id) if inbound.contact_id else None
        )
        rep = workspace.team.rep(rep_id or inbound.owner_id or "")
        phone = contact.phone_e164 if contact else None
        if rep is None or not rep.phone:
            return BridgeOutcome("skipped", "owner_has_no_phone")
        if not phone:
            return BridgeOutcome("skipped", "buyer_has_no_phone")
        if attempt == "policy" and inbound.human_touch_at is not None:
            return BridgeOutcome("skipped", "a_person_already_answered")
        decision = _buyer_gate(runtime, session, contact, phone, now)
        topic = _topic(inbound)
        lead = contact.display_name if contact else "a new lead"
        if contact and contact.company_name:
            lead = f"{lead} of {contact.company_name}"
        contact_id = contact.id if contact else None

    if isinstance(decision, Blocked):
        return BridgeOutcome("skipped", decision.reason)
    until, reason = now, "owner_off_shift"
    if isinstance(decision, Deferred):
        until, reason = decision.until, decision.reason
    earliest = max(until, now)
    working = next_working_moment(rep, earliest) if owner_hours else earliest
    if working is None:
        return BridgeOutcome("skipped", "owner_has_no_working_hours")
    if working > now:
        return BridgeOutcome("deferred", reason, until=working)

    key = f"bridge:{inbound_id}:{rep.id}:{attempt}"
    target = BridgeTarget(inbound_id, rep.id, attempt)
    token = bridge_token(runtime.settings.secret_key, target)
    public = runtime.settings.public_url
    request = CallRequest(
        to=rep.phone,
        twiml_url=bridge_url(public, token),
        key=key,
        status_callback=bridge_url(public, token, "status"),
        timeout_seconds=25,
    )
    find = getattr(voice, "lookup", None)
    outcome = Ledger(runtime.db, runtime.clock).perform(
        key,
        "call.bridge",
        partial(voice.call, request),
        lookup=partial(find, request) if find is not None else None,
    )
    _record_touch(
        runtime,
        key,
        inbound_id,
        contact_id,
        rep,
        phone,
        outcome.result,
        {"lead": lead, "topic": topic},
    )
    if outcome.performed:
        log.info(
            "bridge.started",
            inbound_id=inbound_id,
            rep=rep.id,
            rep_phone=mask_phone(rep.phone),
            attempt=attempt,
        )
    return BridgeOutcome("calling", sid=outcome.result.get("sid"))


def _record_touch(
    runtime: Runtime,
    key: str,
    inbound_id: int,
    contact_id: int | None,
    rep: Rep,
    buyer_phone: str,
    result: Result,
    whisper: dict[str, Any],
) -> None:
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        if session.scalar(select(Touch.id).where(Touch.idempotency_key == key)):
            return
        session.add(
            Touch(
                inbound_id=inbound_id,
                contact_id=contact_id,
                owner_id=rep.id,
                channel="call",
                purpose="call_bridge",
                status=result.get("status", "queued"),
                to_address=buyer_phone,
                from_address=rep.phone,
                provider_id=result.get("sid"),
                idempotency_key=key,
                sent_at=now,
                meta={"leg": "owner", **whisper},
                created_at=now,
            )
        )


def defer_bridge(runtime: Runtime, inbound_id: int, until: datetime) -> None:
    """Queue the bridge again for ``until`` (the owner's next shift)."""
    with runtime.db.transaction() as session:
        enqueue(
            session,
            BRIDGE_KIND,
            {"inbound_id": inbound_id},
            key=f"call_bridge:{inbound_id}:{until:%Y%m%dT%H%M}",
            due_at=until,
            now=runtime.clock.now(),
        )
    log.info("bridge.deferred", inbound_id=inbound_id, until=until.isoformat())


def voice_channel(runtime: Runtime) -> VoiceChannel:
    """Return the voice channel: the outbox, or Twilio's Calls API."""
    given: VoiceChannel | None = runtime.services.get("voice")
    if given is not None:
        return given
    return built_once(runtime, "respond.voice", _build_voice)


def _build_voice(runtime: Runtime) -> VoiceChannel:
    channels = runtime.workspace.channels
    if channels.outbox or channels.twilio is None:
        return OutboxVoice(runtime.db, runtime.clock)
    twilio = channels.twilio
    token = runtime.settings.secret(ref_name(twilio.auth_token))
    client = TwilioClient(twilio.base_url, twilio.account_sid, token)
    return TwilioVoice(
        client, from_number=twilio.from_numbers[0] if twilio.from_numbers else ""
    )


def caller_id(workspace: Workspace) -> str:
    """Return the number the buyer sees when the bridge rings them."""
    twilio = workspace.channels.twilio
    return twilio.from_numbers[0] if twilio and twilio.from_numbers else ""


def call_bridge_handler(runtime: Runtime) -> Handler:
    """Return the handler of ``respond.call_bridge`` (payload ``{"inbound_id"}``)."""

    def handle(ctx: JobContext) -> None:
        inbound_id = int(ctx.payload["inbound_id"])
        outcome = start_bridge(runtime, inbound_id, voice_channel(runtime))
        if outcome.state == "deferred" and outcome.until is not None:
            defer_bridge(runtime, inbound_id, outcome.until)
        elif outcome.state == "skipped":
            log.info("bridge.skipped", inbound_id=inbound_id, reason=outcome.reason)

    return handle


# -- Twilio's callbacks --------------------------------------------------------


def record_call_status(
    runtime: Runtime, target: BridgeTarget, form: dict[str, str]
) -> None:
    """Keep the owner leg's status (and the buyer leg's result) on the touch."""
    key = f"bridge:{target.inbound_id}:{target.rep_id}:{target.attempt}"
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        touch = session.scalar(select(Touch).where(Touch.idempotency_key == key))
        if touch is None:
            return
        meta = dict(touch.meta or {})
        if "DialCallStatus" in form:
            meta["buyer_leg"] = form["DialCallStatus"]
            if form["DialCallStatus"] == "completed":
                touch.status = "connected"
                inbound = session.get(Inbound, target.inbound_id)
                # A rep talking to the buyer is the human follow-up.
                if inbound is not None and inbound.human_touch_at is None:
                    inbound.human_touch_at = now
        elif form.get("CallStatus") and touch.status != "connected":
            touch.status = form["CallStatus"]
            if form["CallStatus"] in ("busy", "no-answer", "failed", "canceled"):
                touch.error = f"the rep's phone: {form['CallStatus']}"
                if target.attempt == "policy":
                    _alert_missed_bridge(session, target, form["CallStatus"], now)
        touch.meta = meta


def _alert_missed_bridge(
    session: Session, target: BridgeTarget, status: str, now: datetime
) -> None:
    """The rep did not pick up the automatic bridge: tell them in writing."""
    payload = {
        "inbound_id": target.inbound_id,
        "reason": "bridge_missed",
        "audience": "owner",
        "detail": f"We rang your phone for this lead ({status})",
    }
    enqueue(
        session,
        ALERT_KIND,
        payload,
        key=f"alert:bridge_missed:{target.inbound_id}",
        now=now,
    )


# -- missed inbound calls ------------------------------------------------------


@dataclass(frozen=True)
class TextbackDecision:
    """Whether a missed call is texted back, and why (or why not)."""

    send: bool
    reason: str


def textback_decision(
    session: Session,
    workspace: Workspace,
    inbound: Inbound,
    caller: str | None,
    now: datetime,
) -> TextbackDecision:
    """Decide whether a missed inbound call gets the automatic text-back."""
    if not workspace.respond.missed_call_textback:
        return TextbackDecision(False, "textback_disabled")
    if inbound.channel != "call" or inbound.kind not in ("missed_call", "voicemail"):
        return TextbackDecision(False, "not_a_missed_call")
    if not caller or caller.strip().lower() in WITHHELD:
        return TextbackDecision(False, "caller_id_withheld")

    try:
        number = phonenumbers.parse(caller, workspace.routing.default_region or "US")
    except phonenumbers.NumberParseException:
        return TextbackDecision(False, "caller_id_unreadable")
    if not phonenumbers.is_valid_number(number):
        return TextbackDecision(False, "caller_id_invalid")
    kind = phonenumbers.number_type(number)
    if kind in (
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
    ):
        # A known landline or service number cannot take a text.
        return TextbackDecision(False, "number_cannot_take_texts")

    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    recent = session.scalar(
        select(Touch.id)
        .where(
            Touch.channel == "sms",
            Touch.to_address == e164,
            Touch.created_at >= now - TEXTBACK_COOLDOWN,
            Touch.inbound_id != inbound.id,
        )
        .limit(1)
    )
    if recent is not None:
        # Someone who calls five times in an hour gets one text, not five.
        return TextbackDecision(False, "texted_in_the_last_day")
    return TextbackDecision(True, "missed_call")
