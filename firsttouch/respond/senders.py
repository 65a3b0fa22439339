"""The channels the respond layer sends through, built once per process.

The workspace decides: with ``channels.outbox: true`` (the embedded default
and the demo) every message is kept in the local outbox and nothing leaves;
otherwise email goes over the configured SMTP mailbox and texts through the
Twilio-compatible API. Tests and benchmarks may put their own ``Senders``
into ``runtime.services["respond.senders"]``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

from firsttouch.channels.messages import EmailChannel, SmsChannel
from firsttouch.channels.outbox import OutboxEmail, OutboxSms
from firsttouch.channels.smtp import SmtpEmail
from firsttouch.channels.twilio import TwilioClient, TwilioSms
from firsttouch.errors import ConfigError
from firsttouch.logs import get_logger
from firsttouch.respond.consent import MailboxLimits
from firsttouch.workspace.channels import ref_name

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime

log = get_logger(__name__)

SERVICE = "respond.senders"
_lock = threading.RLock()
T = TypeVar("T")


@dataclass
class Senders:
    """Where email and texts go, and who they come from."""

    email: EmailChannel
    sms: SmsChannel | None
    from_address: str
    from_name: str | None = None
    mailbox: MailboxLimits | None = None
    status_callback: str | None = None
    # Why texts cannot go out though the workspace has a Twilio section (a
    # secret not set): email still goes, each text fails with this reason.
    sms_unavailable: str | None = None


def senders(runtime: Runtime) -> Senders:
    """Return this process's senders, building them on first use."""
    return built_once(runtime, SERVICE, build_senders)


def built_once(runtime: Runtime, name: str, build: Callable[[Runtime], T]) -> T:
    """Return the runtime's service ``name``, building it on first use.

    A channel keeps connections (an SMTP session per thread, an HTTP pool)
    and TLS contexts whose CA certificates take milliseconds to load: one
    per runtime, not one per job.
    """
    found = runtime.services.get(name)
    if found is None:
        with _lock:
            found = runtime.services.get(name)
            if found is None:
                found = build(runtime)
                runtime.services[name] = found
    return cast(T, found)


def _from_address(runtime: Runtime) -> str:
    smtp = runtime.workspace.channels.smtp
    if smtp is not None:
        return smtp.from_address
    website = runtime.workspace.company.website or "firsttouch.invalid"
    domain = website.split("//")[-1].split("/")[0]
    return f"hello@{domain}"


def build_senders(runtime: Runtime) -> Senders:
    """Build the senders the workspace's channels section describes."""
    channels = runtime.workspace.channels
    settings = runtime.settings
    smtp = channels.smtp
    from_name = smtp.from_name if smtp else runtime.workspace.company.name
    callback = f"{settings.public_url.rstrip('/')}/respond/twilio/status"

    if channels.outbox:
        return Senders(
            email=OutboxEmail(runtime.db, runtime.clock),
            sms=OutboxSms(runtime.db, runtime.clock),
            from_address=_from_address(runtime),
            from_name=from_name,
        )

    if smtp is None:
        raise ConfigError(
            "the workspace sends for real (channels.outbox: false) but has no "
            "channels.smtp section; add one, or set channels.outbox: true"
        )
    email = SmtpEmail(
        smtp.host,
        smtp.port,
        security=smtp.security,
        username=smtp.username,
        password=settings.secret(ref_name(smtp.password)) if smtp.password else None,
        dkim_selector=smtp.dkim_selector,
        dkim_private_key=(
            settings.secret(ref_name(smtp.dkim_private_key))
            if smtp.dkim_private_key
            else None
        ),
    )

    sms, sms_unavailable = _twilio_sms(runtime)
    return Senders(
        email=email,
        sms=sms,
        from_address=smtp.from_address,
        from_name=from_name,
        mailbox=MailboxLimits(smtp.from_address, smtp.per_minute, smtp.per_day),
        status_callback=callback,
        sms_unavailable=sms_unavailable,
    )


def _twilio_sms(runtime: Runtime) -> tuple[SmsChannel | None, str | None]:
    """The workspace's Twilio channel, or None and why it cannot be built.

    A missing SMS secret must not stop email, which needs none of it.
    """
    twilio = runtime.workspace.channels.twilio
    if twilio is None:
        return None, None
    try:
        token = runtime.settings.secret(ref_name(twilio.auth_token))
    except ConfigError as exc:
        reason = f"texts cannot be sent: {exc}"
        log.warning("senders.sms_unavailable", reason=reason)
        return None, reason
    client = TwilioClient(twilio.base_url, twilio.account_sid, token)
    sms = TwilioSms(
        client,
        from_numbers=twilio.from_numbers,
        messaging_service_sid=twilio.messaging_service_sid,
        segments_per_second=twilio.segments_per_second,
    )
    return sms, None
