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
from email.utils import formataddr, formatdate

import structlog

from firsttouch.channels.messages import Accepted, EmailMessage, Result
from firsttouch.channels.smtp.wire import render_email
from firsttouch.config import Secret
from firsttouch.errors import DeliveryError
from firsttouch.logs import mask_email

log = structlog.get_logger(__name__)


WIRE_POLICY = policy.SMTP.clone(max_line_length=998)


def make_message_id(key: str, from_address: str, salt: str = "") -> str:
    """Return a stable RFC 5322 Message-ID for the send named by ``key``."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:32]
    domain = from_address.rpartition("@")[2] or "firsttouch.invalid"
    return f"<ft.{digest}@{domain}>"


def build_mime(message: EmailMessage) -> MimeMessage:
    """Return the MIME message: text and HTML alternatives with all headers.

    For a message that grows further (an invite adds its calendar parts);
    a plain send writes its bytes with ``render_email``, many times faster.
    """
    # Lines may run to RFC 5322's hard limit of 998: a long List-Unsubscribe
    # URI must stay one token, never an encoded word a mail client cannot use.
    mime = MimeMessage(policy=WIRE_POLICY)
    mime["From"] = formataddr((message.from_name or "", message.from_address))
    mime["To"] = formataddr((message.to_name or "", message.to))
    mime["Subject"] = message.subject
    # The Date comes from the message (our clock); the wall clock only if none.
    stamp = message.date.timestamp() if message.date else None
    mime["Date"] = formatdate(stamp, localtime=False)
    mime["Message-ID"] = message.message_id
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    if message.in_reply_to:
        # RFC 5322 section 3.6.4: both headers make the reply thread.
        mime["In-Reply-To"] = message.in_reply_to
        mime["References"] = " ".join(message.references or (message.in_reply_to,))
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


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
    ):
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
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

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
        if self.username:
            password = self.password.reveal() if self.password else ""
            conn.login(self.username, password)
        return conn

    def _connection(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
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

        domain = from_address.rpartition("@")[2]
        signature = dkim.sign(
            raw,
            self.dkim_selector.encode(),
            domain.encode(),
            self.dkim_private_key.reveal().encode(),
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        )
        return bytes(signature) + raw

    def _transmit(self, sender: str, recipient: str, raw: bytes) -> None:
        for attempt in (1, 2):
            try:
                self._connection().sendmail(sender, [recipient], raw)
                return
            except smtplib.SMTPServerDisconnected:
                # A pooled connection the server closed while idle: reopen once.
                self._drop()
                if attempt == 2:
                    raise

    def submit(self, sender: str, recipient: str, raw: bytes) -> float:
        """Hand finished bytes to the server; return the milliseconds it took.

        Every refusal becomes a ``DeliveryError`` that says whether a retry
        can help (4xx, a dropped connection) or not (5xx).
        """
        started = time.perf_counter()
        try:
            self._transmit(sender, recipient, raw)
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
        raw = self._sign(render_email(message), message.from_address)
        latency_ms = self.submit(message.from_address, message.to, raw)

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
