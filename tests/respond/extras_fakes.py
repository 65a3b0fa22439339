"""Loopback servers for the respond extras: Slack, Teams and Twilio's Calls API.

Each speaks its provider's documented wire format, errors included: Slack
answers ``ok`` or a plain-text error code, Teams' connector answers ``1``,
Twilio answers JSON with ``code``/``message``/``status`` and 201 on create.
A test scripts the next answers per path with ``queue``.
"""

from __future__ import annotations

import base64
import itertools
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Answer:
    status: int
    body: bytes | str | dict[str, Any] = b""
    headers: dict[str, str] = field(default_factory=dict)


class FakeApi:
    """A threaded HTTP server that records requests and plays scripted answers."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.scripts: dict[str, list[Answer]] = {}
        self.calls: list[dict[str, Any]] = []
        self.account_sid = "AC" + "1" * 32
        self.auth_token = "fake-twilio-token"
        self._sids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def queue(self, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``path`` with ``answers``, in order."""
        self.scripts.setdefault(path, []).extend(answers)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def _answer(self, seen: Seen) -> Answer:
        with self._lock:
            self.seen.append(seen)
            script = self.scripts.get(seen.path)
            if script:
                return script.pop(0)
        if seen.path.startswith("/2010-04-01/Accounts/"):
            return self._twilio(seen)
        if seen.path.startswith("/teams/"):
            return Answer(200, "1")
        return Answer(200, "ok")

    def _twilio(self, seen: Seen) -> Answer:
        expected = base64.b64encode(
            f"{self.account_sid}:{self.auth_token}".encode()
        ).decode()
        if seen.headers.get("authorization") != f"Basic {expected}":
            return Answer(
                401, {"code": 20003, "message": "Authenticate", "status": 401}
            )
        calls = f"/2010-04-01/Accounts/{self.account_sid}/Calls.json"
        if seen.path == calls and seen.method == "POST":
            form = seen.form()
            if "Url" not in form and "Twiml" not in form:
                return Answer(
                    400,
                    {
                        "code": 21205,
                        "message": "Url parameter is required.",
                        "status": 400,
                    },
                )
            call = {
                "sid": f"CA{next(self._sids):032x}",
                "status": "queued",
                "to": form["To"],
                "from": form["From"],
                "url": form.get("Url"),
                "status_callback": form.get("StatusCallback"),
            }
            self.calls.append(call)
            return Answer(201, call)
        if seen.path == calls and seen.method == "GET":
            to = seen.query.get("To", [None])[0]
            return Answer(200, {"calls": [c for c in self.calls if c["to"] == to]})
        return Answer(404, {"code": 20404, "message": "not found", "status": 404})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                answer = api._answer(seen)
                body = answer.body
                if isinstance(body, dict):
                    data = json.dumps(body).encode()
                    kind = "application/json"
                else:
                    data = body.encode() if isinstance(body, str) else body
                    kind = "text/plain"
                self.send_response(answer.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def start(self) -> None:
        threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        ).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()
    api.start()
    try:
        yield api
    finally:
        api.stop()


class MailSink:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@contextmanager
def mail_sink() -> Iterator[tuple[MailSink, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def seed_lead(
    db: Any,
    now: Any,
    *,
    first_name: str = "Ana",
    phone: str | None = "+14155550123",
    owner: str = "maya",
    score: int | None = 82,
    company: str = "Ruiz Logistics",
    timezone: str | None = None,
    message: str = "We need AP automation this quarter.",
) -> int:
    """Store a contact, an inbound and (optionally) its qualification."""
    from firsttouch.store.models import Contact, Inbound, Qualification

    with db.transaction() as session:
        contact = Contact(
            email="ana.ruiz@buyer.example",
            first_name=first_name,
            last_name="Ruiz",
            company_name=company,
            phone_e164=phone,
            title="VP Finance",
            owner_id=owner,
            timezone=timezone,
            country="US",
            created_at=now,
        )
        session.add(contact)
        session.flush()
        inbound = Inbound(
            dedupe_key=f"form:{contact.id}",
            received_at=now,
            channel="web_form",
            kind="form",
            source="website",
            contact_id=contact.id,
            owner_id=owner,
            body_text=message,
            subject="Demo request",
        )
        session.add(inbound)
        session.flush()
        if score is not None:
            session.add(
                Qualification(
                    inbound_id=inbound.id,
                    contact_id=contact.id,
                    icp_version="t",
                    score=score,
                    route="rep_now",
                    brief="Mid-market finance lead, evaluating AP tools now.",
                    brief_source="default",
                    created_at=now,
                )
            )
        return int(inbound.id)
