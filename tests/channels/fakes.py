"""Loopback stand-ins for the outside: an SMTP sink and a Twilio-format API.

``SmtpSink`` is aiosmtpd on 127.0.0.1, optionally with STARTTLS or
implicit TLS, AUTH and SMTPUTF8 (RFC 6531). ``FakeTwilio`` answers the
Messages resource of Twilio's 2010-04-01 REST API as Twilio documents
it: basic auth with the account SID and token, form-encoded requests,
``201`` with a message resource, errors as
``{"code", "message", "more_info", "status"}`` and ``429`` with
``Retry-After`` when told to.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def openssl(*args: str) -> bytes:
    """Run the system openssl with fixed arguments (test keys and certificates)."""
    # S603/S607: fixed arguments of ours, and the system's own openssl.
    command = ["openssl", *args]
    done = subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    return done.stdout


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """Write a throwaway certificate for 127.0.0.1."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(cert),
    )
    return cert, key


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes
    mail_options: list[str] = field(default_factory=list)

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def text(self) -> str:
        """The plain-text part."""
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Seconds the server takes over each recipient and each message.
    delay: float = 0.0

    async def handle_RCPT(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        await asyncio.sleep(self.delay)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: Any, session: Session, envelope: Envelope
    ) -> str:
        await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from or "",
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or envelope.content or b""),
                    list(envelope.mail_options),
                )
            )
        return "250 Message accepted for delivery"


class SmtpSink:
    """An aiosmtpd server on loopback that keeps every message it accepts."""

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        credentials: tuple[str, str] | None = None,
        smtputf8: bool = False,
        delay: float = 0.0,
    ):
        self.handler = _Handler(delay=delay)
        self.port = free_port()
        # Without it aiosmtpd, like many servers, does not offer SMTPUTF8.
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        if tls_context is not None and not implicit_tls:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if implicit_tls:
            kwargs["ssl_context"] = tls_context
        if credentials is not None:
            user, password = credentials

            def authenticate(
                server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
            ) -> AuthResult:
                ok = (
                    isinstance(auth_data, LoginPassword)
                    and auth_data.login.decode() == user
                    and auth_data.password.decode() == password
                )
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=authenticate, auth_require_tls=True)
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="127.0.0.1",
            **kwargs,
        )

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def refuse(self, address: str, reply: str) -> None:
        self.handler.refuse[address] = reply

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class FakeTwilio:
    """Twilio's Messages API on 127.0.0.1, keeping what it was sent."""

    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        # Answers to give before behaving normally: (status, body, headers).
        self.scripted: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(
                self,
                status: int,
                body: dict[str, Any],
                headers: dict[str, str] | None = None,
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                expected = base64.b64encode(
                    f"{fake.account_sid}:{fake.auth_token}".encode()
                ).decode()
                if self.headers.get("Authorization") == f"Basic {expected}":
                    return True
                self._reply(
                    401,
                    {
                        "code": 20003,
                        "message": "Authenticate",
                        "more_info": "https://www.twilio.com/docs/errors/20003",
                        "status": 401,
                    },
                )
                return False

            def _path_ok(self) -> bool:
                path = urlparse(self.path).path
                wanted = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                if path == wanted:
                    return True
                self._reply(
                    404,
                    {
                        "code": 20404,
                        "message": f"The requested resource {path} was not found",
                        "status": 404,
                    },
                )
                return False

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                with fake.lock:
                    fake.requests.append(("POST", self.path))
                if not (self._authorised() and self._path_ok()):
                    return
                length = int(self.headers.get("Content-Length", "0"))
                form = {
                    k: v[0]
                    for k, v in parse_qs(
                        self.rfile.read(length).decode(), keep_blank_values=True
                    ).items()
                }
                with fake.lock:
                    scripted = fake.scripted.pop(0) if fake.scripted else None
                if scripted is not None:
                    self._reply(*scripted)
                    return
                if not form.get("To", "").startswith("+"):
                    self._reply(
                        400,
                        {
                            "code": 21211,
                            "message": "Invalid 'To' Phone Number",
                            "status": 400,
                        },
                    )
                    return
                with fake.lock:
                    sid = f"SM{len(fake.messages) + 1:032x}"
                    message = {
                        "sid": sid,
                        "account_sid": fake.account_sid,
                        "to": form["To"],
                        "from": form.get("From"),
                        "body": form.get("Body", ""),
                        "status": "queued",
                        "num_segments": "1",
                        "direction": "outbound-api",
                        "messaging_service_sid": form.get("MessagingServiceSid"),
                        "status_callback": form.get("StatusCallback"),
                        "error_code": None,
                        "error_message": None,
                        "api_version": "2010-04-01",
                    }
                    fake.messages.append(message)
                self._reply(201, message)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if not (self._authorised() and self._path_ok()):
                    return
                query = parse_qs(urlparse(self.path).query)
                to = query.get("To", [None])[0]
                with fake.lock:
                    found = [m for m in fake.messages if to is None or m["to"] == to]
                self._reply(200, {"messages": found, "page": 0, "page_size": 50})

        return Handler

    def __enter__(self) -> FakeTwilio:
        threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
