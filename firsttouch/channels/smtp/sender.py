"""Send email over SMTP with STARTTLS, implicit TLS or none, and auth.

One connection per thread is kept open and reused; a connection the server
has dropped is opened again once. Server replies map onto ``DeliveryError``:
5xx is permanent, 4xx and network failures are worth retrying (RFC 5321
section 4.2.1). The Message-ID is derived from the send's idempotency key,
so a resend after a crash carries the same Message-ID as the first try.

SMTP has no way to ask a server "did you already accept this message?".
``on_accepted`` is called the instant the server answers 250, so the caller
can record the acceptance before anything else; a crash in the moment
between the 250 and that record can still produce a second copy, with the
same Message-ID.

Internationalised addresses (``addresses.py``): a non-ASCII domain goes as
IDNA A-labels to any server. A non-ASCII local part goes only to a server
that advertises SMTPUTF8, with ``MAIL FROM:<...> SMTPUTF8``; to any other
the send fails permanently with that reason, since no retry can help.
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
import ssl
import threading
import time
from email import policy
from email.message import EmailMessage as MimeMessage
from typing import Any

import structlog

from firsttouch.channels.messages import Accepted, EmailMessage, Result
from firsttouch.channels.smtp.addresses import (
    AddressError,
    first_international,
    idna_domain,
    wire_address,
)
from firsttouch.channels.smtp.wire import header_items, render_email
from firsttouch.config import Secret
from firsttouch.errors import DeliveryError
from firsttouch.logs import mask_email

log = structlog.get_logger(__name__)


WIRE_POLICY = policy.SMTP.clone(max_line_length=998)
# How long one whole exchange may take: connecting, TLS, login, envelope and
# data. Each reply also has its own timeout, but a server slow on every step
# could otherwise outlast the send's lease in the ledger (120 s), and a retry
# would then send while this call still talks to the server.
EXCHANGE_SECONDS = 90.0


def _bound(conn: smtplib.SMTP, deadline: float | None) -> None:
    """Wait on the socket no later than ``deadline`` (time.monotonic())."""
    if deadline is None or conn.sock is None:
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the mail server took longer than the exchange allows")
    conn.sock.settimeout(min(left, conn.timeout))


class _BoundedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` that gives up on a reply or a write at ``deadline``."""

    def __init__(self, *args: Any, deadline: float | None = None, **kwargs: Any):
        # Before connecting: the greeting is the first reply bounded.
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    def getreply(self) -> tuple[int, bytes]:
        _bound(self, self.deadline)
        return super().getreply()

    def send(self, s: Any) -> None:
        _bound(self, self.deadline)
        super().send(s)


class _BoundedSMTPSSL(_BoundedSMTP, smtplib.SMTP_SSL):
    """``_BoundedSMTP`` over implicit TLS."""


def make_message_id(key: str, from_address: str, salt: str = "") -> str:
    """Return a stable RFC 5322 Message-ID for the send named by ``key``."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:32]
    domain = from_address.rpartition("@")[2] or "firsttouch.invalid"
    if not domain.isascii():
        # A Message-ID is ASCII, even under RFC 6532; it need only be unique.
        try:
            domain = idna_domain(domain)
        except AddressError:
            domain = "firsttouch.invalid"
    return f"<ft.{digest}@{domain}>"


def build_mime(message: EmailMessage) -> MimeMessage:
    """Return the MIME message: text and HTML alternatives with all headers.

    For a message that grows further (an invite adds its calendar parts);
    a plain send writes its bytes with ``render_email``, many times faster.
    Raises ``AddressError`` for an address that cannot be written.
    """
    # The headers are the ones ``render_email`` writes, stored as they are:
    # the email package would write a non-ASCII local part as an encoded
    # word (which no server reads as an address) or, under its UTF-8 policy,
    # the display names raw; ours keep names in RFC 2047 and domains in IDNA.
    # Lines may run to RFC 5322's hard limit of 998: a long List-Unsubscribe
    # URI must stay one token, never an encoded word a mail client cannot use.
    mime = MimeMessage(policy=WIRE_POLICY)
    for name, value in header_items(message):
        mime.set_raw(name, value)
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


def _header_block(raw: bytes) -> bytes:
    return raw.partition(b"\r\n\r\n")[0]


class SmtpEmail:
    """An SMTP submission client for one mailbox."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: Secret | None = None,
        timeout: float = 20.0,
        dkim_selector: str | None = None,
        dkim_private_key: Secret | None = None,
        ssl_context: ssl.SSLContext | None = None,
        pause_after_send: float = 0.0,
        exchange_seconds: float = EXCHANGE_SECONDS,
    ):
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.exchange_seconds = exchange_seconds
        self.dkim_selector = dkim_selector
        self.dkim_private_key = dkim_private_key
        # Loading the system's CA certificates is costly: only when TLS is used.
        self._ssl_context = ssl_context
        # Tests only: hold still after the server accepted, so a test can
        # kill the process between the send and the commit that records it.
        self.pause_after_send = pause_after_send
        self._local = threading.local()

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _connect(self, deadline: float) -> _BoundedSMTP | _BoundedSMTPSSL:
        conn: _BoundedSMTP | _BoundedSMTPSSL
        if self.security == "tls":
            conn = _BoundedSMTPSSL(
                self.host,
                self.port,
                timeout=self.timeout,
                context=self.ssl_context,
                deadline=deadline,
            )
        else:
            conn = _BoundedSMTP(
                self.host, self.port, timeout=self.timeout, deadline=deadline
            )
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
        if self.username:
            password = self.password.reveal() if self.password else ""
            conn.login(self.username, password)
        return conn

    def _connection(self, deadline: float) -> _BoundedSMTP | _BoundedSMTPSSL:
        conn: _BoundedSMTP | _BoundedSMTPSSL | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(deadline)
            self._local.conn = conn
        conn.deadline = deadline
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def _sign(self, raw: bytes, from_address: str) -> bytes:
        if not (self.dkim_selector and self.dkim_private_key):
            return raw
        import dkim

        # The d= tag names the domain as DNS knows it: A-labels (RFC 6376 3.5).
        domain = wire_address(from_address).rpartition("@")[2]
        signature = dkim.sign(
            raw,
            self.dkim_selector.encode(),
            domain.encode(),
            self.dkim_private_key.reveal().encode(),
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        )
        return bytes(signature) + raw

    def _transmit(
        self, sender: str, recipient: str, raw: bytes, smtputf8_for: str | None
    ) -> None:
        deadline = time.monotonic() + self.exchange_seconds
        for attempt in (1, 2):
            try:
                conn = self._connection(deadline)
                options = self._mail_options(conn, smtputf8_for)
                conn.sendmail(sender, [recipient], raw, mail_options=options)
                conn.deadline = None
                return
            except smtplib.SMTPServerDisconnected:
                # A pooled connection the server closed while idle: reopen once.
                self._drop()
                if attempt == 2:
                    raise

    def _mail_options(self, conn: smtplib.SMTP, smtputf8_for: str | None) -> list[str]:
        """Return the MAIL FROM parameters; refuse what the server cannot take."""
        if smtputf8_for is None:
            return []
        conn.ehlo_or_helo_if_needed()
        if not conn.has_extn("smtputf8"):
            raise DeliveryError(
                "the mail server does not accept internationalised addresses "
                f"(SMTPUTF8); {mask_email(smtputf8_for)} cannot be reached by email",
                permanent=True,
                provider_code="smtputf8",
            )
        # RFC 6531 section 3.1: a server with SMTPUTF8 takes 8-bit MIME too.
        options = ["SMTPUTF8"]
        if conn.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        return options

    def submit(
        self, sender: str, recipient: str, raw: bytes, *, reply_to: str | None = None
    ) -> float:
        """Hand finished bytes to the server; return the milliseconds it took.

        ``sender`` and ``recipient`` may be internationalised: the envelope
        gets their IDNA form, and SMTPUTF8 when a local part (of them or of
        ``reply_to``, which is in the headers) is not ASCII. Every refusal
        becomes a ``DeliveryError`` that says whether a retry can help (4xx,
        a dropped connection) or not (5xx, an address the server cannot take).
        """
        smtputf8_for = first_international(recipient, sender, reply_to)
        if smtputf8_for is None and not _header_block(raw).isascii():
            # Any other header in UTF-8 (a thread's Message-ID from an SMTPUTF8
            # sender, say) needs the extension just the same (RFC 6532).
            smtputf8_for = recipient
        try:
            envelope = wire_address(sender), wire_address(recipient)
        except AddressError as exc:
            raise DeliveryError(
                f"{exc}; the message cannot be addressed", permanent=True
            ) from exc

        started = time.perf_counter()
        try:
            self._transmit(*envelope, raw, smtputf8_for)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise DeliveryError(
                f"recipient refused: {code} {reply!r}",
                permanent=code >= 500,
                provider_code=str(code),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise DeliveryError(
                f"server answered {exc.smtp_code}: {exc.smtp_error!r}",
                permanent=exc.smtp_code >= 500,
                provider_code=str(exc.smtp_code),
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise DeliveryError(
                f"cannot reach {self.host}:{self.port}: {exc}", permanent=False
            ) from exc
        return round((time.perf_counter() - started) * 1000, 2)

    def send(
        self, message: EmailMessage, on_accepted: Accepted | None = None
    ) -> Result:
        """Send ``message``; raise ``DeliveryError`` on failure."""
        try:
            raw = self._sign(render_email(message), message.from_address)
        except AddressError as exc:
            raise DeliveryError(
                f"{exc}; the message cannot be addressed", permanent=True
            ) from exc
        latency_ms = self.submit(
            message.from_address, message.to, raw, reply_to=message.reply_to
        )

        result: Result = {
            "message_id": message.message_id,
            "provider": "smtp",
            "latency_ms": latency_ms,
        }
        if on_accepted is not None:
            on_accepted(result)
        log.info("email.accepted", to=mask_email(message.to), host=self.host)
        if self.pause_after_send:
            time.sleep(self.pause_after_send)
        return result

    def close(self) -> None:
        """Close this thread's connection."""
        self._drop()
