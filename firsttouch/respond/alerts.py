"""Rep alerts: the brief and one-click links, to email, Slack and Teams.

An alert goes to the lead's owner by email and to every notification the
workspace lists (``channels.notifications``): Slack and Microsoft Teams
incoming webhooks, a plain JSON webhook, any chat tool Apprise speaks, or
more email addresses. It carries
the brief (from the latest qualification, or the inbound's own facts while
qualification is still running) and three links: claim the lead, have
firsttouch call the rep and connect the buyer, and open the lead.

Each destination is one outbound effect under its own ledger key, so a
retried job re-sends only what failed. A destination that refuses for good
(a 4xx, a revoked webhook) is recorded and the others still go; one worth
retrying (a 429, a 5xx, a network failure) makes the job retry after the
rest were tried.

How an alert reads in each format, with the lead's own text escaped for
it, is in ``alert_formats``; the webhook wire and its errors in
``firsttouch.channels.webhooks``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import select

from firsttouch.channels.apprise_notify import AppriseNotifier
from firsttouch.channels.control_chars import header_text
from firsttouch.channels.messages import EmailChannel, Result
from firsttouch.channels.outbox.store import OutboxEmail
from firsttouch.channels.smtp.sender import SmtpEmail
from firsttouch.channels.webhooks import WebhookPoster
from firsttouch.clock import Clock
from firsttouch.config import Secret, Settings
from firsttouch.errors import DeliveryError, InputError
from firsttouch.jobs.ledger import Ledger
from firsttouch.logs import mask_email
from firsttouch.respond.alert_formats import (
    Alert,
    alert_email,
    alert_text,
    slack_payload,
    teams_payload,
    webhook_payload,
)
from firsttouch.respond.senders import built_once
from firsttouch.respond.signed_links import link_serializer
from firsttouch.store.db import Database
from firsttouch.store.models import Contact, Inbound, Qualification, Touch
from firsttouch.workspace import Workspace
from firsttouch.workspace.channels import SECRET_REF, Notification, ref_name
from firsttouch.workspace.team import Rep

if TYPE_CHECKING:
    from firsttouch.jobs.runner import Handler, JobContext
    from firsttouch.runtime import Runtime

log = structlog.get_logger(__name__)

# The purpose of a touch that is an alert to a rep or manager, not a buyer.
ALERT_PURPOSE = "rep_alert"

LINK_SALT = "firsttouch.alert.v1"
LINK_MAX_AGE = timedelta(days=7)
MESSAGE_EXCERPT = 400


class AlertLinkError(InputError):
    """An alert link is forged, damaged or too old."""

    code = "alert_link_invalid"
    status = 404


@dataclass
class Delivery:
    """How one destination went: sent, skipped (done before) or failed."""

    destination: str
    state: str
    error: str | None = None
    permanent: bool = False
    result: Result = field(default_factory=dict)


# -- links -----------------------------------------------------------------


def issue_link_token(secret: Secret, clock: Clock, inbound_id: int, rep_id: str) -> str:
    """Return a signed token naming the rep and the lead a link acts for."""
    serializer = link_serializer(secret, clock, LINK_SALT)
    return str(serializer.dumps({"i": inbound_id, "r": rep_id}))


def read_link_token(secret: Secret, clock: Clock, token: str) -> tuple[int, str]:
    """Return (inbound_id, rep_id) of a genuine, unexpired link token."""
    serializer = link_serializer(secret, clock, LINK_SALT)
    try:
        data = serializer.loads(token, max_age=int(LINK_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise AlertLinkError(
            "this alert link has expired; open the lead instead"
        ) from None
    except BadSignature:
        raise AlertLinkError("this alert link is not valid") from None
    return int(data["i"]), str(data["r"])


# -- the alert itself --------------------------------------------------------


def alert_recipient(
    workspace: Workspace, inbound: Inbound, audience: str
) -> Rep | None:
    """Return whom to alert: the owner, their manager, or the on-call rep."""
    team = workspace.team
    owner = team.rep(inbound.owner_id) if inbound.owner_id else None
    owner = owner or team.rep(workspace.routing.on_call or "")
    if audience == "manager" and owner is not None and owner.manager:
        return team.rep(owner.manager)
    return owner


def lead_facts(inbound: Inbound, contact: Contact | None) -> list[tuple[str, str]]:
    """Return the labelled facts a rep needs first, in the order they need them."""
    fields: dict[str, Any] = inbound.fields or {}
    facts = []
    name = contact.display_name if contact else fields.get("full_name")
    for label, value in (
        ("Name", name),
        ("Title", contact.title if contact else fields.get("title")),
        ("Company", contact.company_name if contact else fields.get("company")),
        ("Email", contact.email if contact else fields.get("email")),
        ("Phone", contact.phone_e164 if contact else fields.get("phone")),
        ("Came in", f"{inbound.channel} from {inbound.source}"),
    ):
        if value:
            facts.append((label, str(value)))
    message = inbound.body_text or fields.get("message")
    if message:
        text = " ".join(str(message).split())
        facts.append(
            (
                "Message",
                text[:MESSAGE_EXCERPT] + ("…" if len(text) > MESSAGE_EXCERPT else ""),
            )
        )
    return facts


def build_alert(
    inbound: Inbound,
    contact: Contact | None,
    rep: Rep,
    qualification: Qualification | None,
    *,
    settings: Settings,
    clock: Clock,
    reason: str = "hot_lead",
    detail: str | None = None,
) -> Alert:
    """Return the alert for ``rep`` about ``inbound``."""
    who = contact.display_name if contact else f"lead {inbound.id}"
    company = contact.company_name if contact and contact.company_name else None
    headline = f"{who}, {company}" if company else who
    if reason == "sla_breach":
        title = f"Unanswered lead: {headline}"
    elif reason == "bridge_missed":
        title = f"We rang you about {headline}"
    else:
        title = f"New lead for you: {headline}"

    if qualification is not None:
        brief = f"Score {qualification.score}/100 ({qualification.route}). " + (
            qualification.brief or ""
        )
    else:
        brief = "Not scored yet; here is what the lead told us."
    if detail:
        brief = f"{detail}. {brief}"

    base = settings.public_url.rstrip("/")
    token = issue_link_token(settings.secret_key, clock, inbound.id, rep.id)
    phone = contact.phone_e164 if contact else None
    return Alert(
        inbound_id=inbound.id,
        rep=rep,
        # The title is an email subject, a Slack header and, through Apprise,
        # maybe another mail's subject: the buyer's name goes on one line.
        title=header_text(title),
        brief=brief.strip(),
        facts=lead_facts(inbound, contact),
        claim_url=f"{base}/alerts/claim/{token}",
        call_url=f"{base}/alerts/call/{token}" if phone and rep.phone else None,
        lead_url=f"{base}/leads/{inbound.id}",
        buyer_phone=phone,
        reason=reason,
    )


def resolve_url(settings: Settings, notification: Notification) -> str:
    """Return a notification's URL, reading ``${NAME}`` from the environment."""
    url = notification.url or ""
    if SECRET_REF.match(url):
        return settings.secret(ref_name(url)).reveal()
    if not url:
        raise DeliveryError(
            f"notification {notification.name!r} has no url", permanent=True
        )
    return url


def email_channel(runtime: Runtime) -> EmailChannel:
    """Return the email channel for alerts: the outbox, or SMTP."""
    given: EmailChannel | None = runtime.services.get("email")
    if given is not None:
        return given
    return built_once(runtime, "respond.alert_email", _build_email)


def _build_email(runtime: Runtime) -> EmailChannel:
    channels = runtime.workspace.channels
    if channels.outbox or channels.smtp is None:
        return OutboxEmail(runtime.db, runtime.clock)
    smtp = channels.smtp
    password = (
        runtime.settings.secret(ref_name(smtp.password)) if smtp.password else None
    )
    return SmtpEmail(
        smtp.host,
        smtp.port,
        security=smtp.security,
        username=smtp.username,
        password=password,
    )


def destination_key(kind: str, where: str) -> tuple[str, str]:
    """Return what makes two alert destinations the same one.

    An email address compares by its address alone, trimmed and lower-cased
    (a name around it, or its case, makes no second mailbox); a webhook by
    its kind and URL as configured.
    """
    if kind == "email":
        return kind, parseaddr(where)[1].strip().lower() or where.strip().lower()
    return kind, where.strip()


def _first_mention(
    seen: set[tuple[str, str]], kind: str, where: str, name: str, alert: Alert
) -> bool:
    """True the first time a destination comes up; then remember it."""
    key = destination_key(kind, where)
    if key in seen:
        log.info(
            "alert.duplicate_skipped",
            destination=name,
            kind=kind,
            inbound_id=alert.inbound_id,
        )
        return False
    seen.add(key)
    return True


@dataclass
class AlertSender:
    """Sends one alert to every destination, each exactly once."""

    db: Database
    workspace: Workspace
    settings: Settings
    clock: Clock
    email: EmailChannel
    poster: WebhookPoster
    apprise: AppriseNotifier = field(default_factory=AppriseNotifier)

    def send(self, alert: Alert, key_base: str) -> list[Delivery]:
        """Send ``alert``; raise the first retryable failure after trying all.

        Each destination hears once: an address (or a webhook) that is also
        the rep's, or listed twice, is skipped after its first mention.
        """
        deliveries = [
            self._one(
                alert,
                f"{key_base}:owner",
                "owner",
                "email",
                partial(self._email, alert, alert.rep.email),
            )
        ]
        seen = {destination_key("email", alert.rep.email)}
        for notification in self.workspace.channels.notifications:
            if notification.kind == "email":
                # One effect per address, so a retry never re-sends to the others.
                for to in notification.to:
                    name = f"{notification.name}:{mask_email(to)}"
                    if not _first_mention(seen, "email", to, name, alert):
                        continue
                    deliveries.append(
                        self._one(
                            alert,
                            f"{key_base}:{notification.name}:{to.lower()}",
                            name,
                            "email",
                            partial(self._email, alert, to),
                        )
                    )
            else:
                where = notification.url or notification.name
                if not _first_mention(
                    seen, notification.kind, where, notification.name, alert
                ):
                    continue
                deliveries.append(
                    self._one(
                        alert,
                        f"{key_base}:{notification.name}",
                        notification.name,
                        notification.kind,
                        partial(self._post, alert, notification),
                    )
                )

        retry = next(
            (d for d in deliveries if d.state == "failed" and not d.permanent), None
        )
        if retry is not None:
            raise DeliveryError(
                f"alert to {retry.destination} failed: {retry.error}", permanent=False
            )
        return deliveries

    def _one(
        self,
        alert: Alert,
        key: str,
        name: str,
        kind: str,
        call: Callable[[str], Result],
    ) -> Delivery:
        try:
            outcome = Ledger(self.db, self.clock).perform(
                key, f"alert.{kind}", lambda: call(key)
            )
        except DeliveryError as exc:
            level = log.error if exc.permanent else log.warning
            level(
                "alert.failed",
                destination=name,
                kind=kind,
                error=str(exc),
                inbound_id=alert.inbound_id,
            )
            self._record(
                alert, key, name, kind, "failed", {}, str(exc), exc.provider_code
            )
            return Delivery(name, "failed", str(exc), exc.permanent)

        self._record(alert, key, name, kind, "sent", outcome.result, None, None)
        if outcome.performed:
            log.info(
                "alert.sent", destination=name, kind=kind, inbound_id=alert.inbound_id
            )
        return Delivery(
            name, "sent" if outcome.performed else "skipped", result=outcome.result
        )

    def _email(self, alert: Alert, to: str, key: str) -> Result:
        message = alert_email(alert, to, self._from_address(), key)
        result = self.email.send(message)
        return {
            "provider": result.get("provider", "email"),
            "message_id": message.message_id,
            "latency_ms": result.get("latency_ms"),
        }

    def _post(self, alert: Alert, notification: Notification, key: str) -> Result:
        url = resolve_url(self.settings, notification)
        kind = notification.kind
        if kind == "slack":
            return self.poster.post("slack", url, slack_payload(alert))
        if kind == "teams":
            return self.poster.post("teams", url, teams_payload(alert))
        if kind == "webhook":
            return self.poster.post("webhook", url, webhook_payload(alert))
        if kind == "apprise":
            return self.apprise.notify(url, alert.title, alert_text(alert))
        raise DeliveryError(
            f"notification kind {kind!r} is not supported for alerts; "
            "use email, slack, teams, webhook or apprise",
            permanent=True,
        )

    def _from_address(self) -> str:
        smtp = self.workspace.channels.smtp
        if smtp is not None:
            return smtp.from_address
        return f"alerts@{(self.workspace.company.website or 'firsttouch.invalid')}"

    def _record(
        self,
        alert: Alert,
        key: str,
        name: str,
        kind: str,
        status: str,
        result: Result,
        error: str | None,
        code: str | None,
    ) -> None:
        # An alert goes to the team, not the buyer: no contact_id, so it never
        # counts against the buyer's frequency cap.
        with self.db.transaction() as session:
            touch = session.scalar(select(Touch).where(Touch.idempotency_key == key))
            if touch is None:
                touch = Touch(
                    inbound_id=alert.inbound_id,
                    owner_id=alert.rep.id,
                    channel=kind,
                    purpose=ALERT_PURPOSE,
                    idempotency_key=key,
                    to_address=f"{kind}:{name}",
                    created_at=self.clock.now(),
                )
                session.add(touch)
            elif status == "failed" and touch.status == "failed" and not code:
                return  # the ledger replaying an earlier refusal: keep the original
            touch.status = status
            touch.error = error
            touch.error_code = code
            touch.latency_ms = result.get("latency_ms")
            touch.subject = alert.title
            touch.meta = {"reason": alert.reason, "destination": name}
            if status == "sent" and touch.sent_at is None:
                touch.sent_at = self.clock.now()


def alert_owner(
    runtime: Runtime, payload: dict[str, Any], sender: AlertSender
) -> list[Delivery]:
    """Alert the right rep about the inbound named in ``payload``."""
    inbound_id = int(payload["inbound_id"])
    audience = str(payload.get("audience", "owner"))
    reason = str(payload.get("reason", "hot_lead"))

    with runtime.db.sessions() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None:
            log.warning("alert.inbound_missing", inbound_id=inbound_id)
            return []
        contact = (
            session.get(Contact, inbound.contact_id) if inbound.contact_id else None
        )
        qualification = session.scalar(
            select(Qualification)
            .where(Qualification.inbound_id == inbound_id)
            .order_by(Qualification.id.desc())
            .limit(1)
        )
        session.expunge_all()

    rep = alert_recipient(runtime.workspace, inbound, audience)
    if rep is None:
        log.warning("alert.nobody_to_tell", inbound_id=inbound_id, audience=audience)
        return []
    alert = build_alert(
        inbound,
        contact,
        rep,
        qualification,
        settings=runtime.settings,
        clock=runtime.clock,
        reason=reason,
        detail=payload.get("detail"),
    )
    # A human follow-up breach is its own send, not the first touch's replayed.
    scope = f"{reason}:{payload['clock']}" if payload.get("clock") else reason
    return sender.send(alert, f"alert:{inbound_id}:{scope}:{audience}")


def alert_owner_handler(runtime: Runtime) -> Handler:
    """Return the handler of ``respond.alert_owner`` (payload ``{"inbound_id"}``)."""

    poster: WebhookPoster = runtime.services.get("alert_poster") or WebhookPoster()
    email = email_channel(runtime)

    def handle(ctx: JobContext) -> None:
        sender = AlertSender(
            db=ctx.db,
            workspace=runtime.workspace,
            settings=runtime.settings,
            clock=ctx.clock,
            email=email,
            poster=poster,
        )
        alert_owner(runtime, ctx.payload, sender)

    return handle
