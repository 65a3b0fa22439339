"""Inbound mail over SMTP (aiosmtpd): ``firsttouch serve --smtp 127.0.0.1:2525``.

The listener answers ``250`` to DATA only after the message is committed as
an inbound; any failure answers ``451`` so the sending server keeps the
message and tries again later (RFC 5321 section 4.2.5), which is safe
because the Message-ID makes a retry a duplicate.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

from firsttouch.capture.email_parse import email_to_event, team_domains
from firsttouch.capture.ingest import IngestResult, ingest
from firsttouch.errors import ConfigError
from firsttouch.logs import get_logger

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime

log = get_logger(__name__)

# Mail with attachments runs larger than webhook bodies; past this, 552.
MAX_MESSAGE_BYTES = 25 * 1024 * 1024


class InboundMailHandler:
    """aiosmtpd handler: every accepted message becomes one inbound."""

    def __init__(self, runtime: Runtime, source: str = "email"):
        self.runtime = runtime
        self.source = source

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content or b""
        recipients = [str(r) for r in envelope.rcpt_tos]
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                None, self.capture, raw, recipients, envelope.mail_from
            )
        except Exception:  # noqa: BLE001 - the edge: one message, tell the sender to retry
            log.exception("smtp.capture_failed", size=len(raw))
            return "451 4.3.0 Could not store the message; try again later"
        return f"250 2.0.0 OK inbound {result.inbound_id}"

    def capture(
        self, raw: bytes, recipients: list[str], mail_from: str | None
    ) -> IngestResult:
        """Parse and store one message (runs in a worker thread)."""
        event = email_to_event(
            raw,
            provider="smtp",
            source=self.source,
            team_domains=team_domains(self.runtime.workspace),
        )
        fields = {
            **event.fields,
            "envelope_to": recipients,
            "envelope_from": mail_from or None,
        }
        return ingest(self.runtime, event.model_copy(update={"fields": fields}))


@dataclass
class SmtpListener:
    """A running listener; ``stop()`` closes it."""

    controller: Controller
    host: str
    port: int

    def stop(self) -> None:
        self.controller.stop()


def _refuse_own_outbound(runtime: Runtime, host: str, port: int) -> None:
    # Mail we send to our own listener comes back as a lead from ourselves,
    # which we answer, which comes back again.
    channels = runtime.workspace.channels
    smtp = channels.smtp
    if channels.outbox or smtp is None or smtp.port != port:
        return
    if _same_host(smtp.host, host):
        raise ConfigError(
            f"the workspace sends email to {smtp.host}:{port}, the address this "
            f"server listens on for inbound mail: firsttouch would answer its own "
            f"emails. Point channels.smtp at your mail server, or listen elsewhere "
            f"with --smtp HOST:PORT (make run SMTP=127.0.0.1:2526)"
        )


def _same_host(sending_to: str, listening_on: str) -> bool:
    # Compared by address, not by name: an alias (a hosts-file name for this
    # machine) reaches the listener as surely as 127.0.0.1 does.
    targets = _addresses(sending_to)
    every_interface = ("0.0.0.0", "::")  # noqa: S104 - compared here, never bound
    if listening_on in every_interface:
        return any(_is_loopback(a) for a in targets) or bool(
            targets & _addresses(listening_on)
        )
    return bool(targets & _addresses(listening_on))


# The resolver, named here so a test can answer for it without DNS.
_getaddrinfo = socket.getaddrinfo


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.partition("%")[0]).is_loopback
    except ValueError:  # a name nothing resolved
        return False


def _addresses(host: str) -> set[str]:
    """The addresses ``host`` names (itself when it names none)."""
    try:
        found = _getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return {host}
    addresses = {str(info[4][0]) for info in found}
    loopback = {a for a in addresses if _is_loopback(a)}
    # 127.0.0.1 and ::1 are the same machine's listener for our purpose.
    return addresses | ({"127.0.0.1", "::1"} if loopback else set())


def start_smtp_listener(
    runtime: Runtime, host: str, port: int | None = None, *, source: str = "email"
) -> SmtpListener:
    """Start listening on ``host:port`` (or ``host`` given as "HOST:PORT")."""
    if port is None:
        host, _, port_text = host.rpartition(":")
        if not port_text.isdigit():
            raise ValueError(
                f"--smtp wants HOST:PORT such as 127.0.0.1:2525, got {host!r}"
            )
        port = int(port_text)
    host = host.strip("[]") or "127.0.0.1"
    _refuse_own_outbound(runtime, host, port)
    controller = Controller(
        InboundMailHandler(runtime, source),
        hostname=host,
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
        decode_data=False,
        # Buyers write from internationalised addresses too (RFC 6531).
        enable_SMTPUTF8=True,
        server_hostname="firsttouch",
    )
    try:
        controller.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen for mail on {host}:{port}: {exc.strerror or exc}; "
            f"is another server using that port? Choose another with --smtp HOST:PORT "
            f"(make run SMTP=127.0.0.1:2526)"
        ) from None
    log.info("smtp.listening", host=host, port=port)
    return SmtpListener(controller, host, port)
