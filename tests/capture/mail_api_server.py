"""A loopback HTTP server for the mail providers' own endpoints.

It answers ``GET`` by path (query included when the table has it, else
the bare path) from a table the test fills: Resend's Receiving API, an SNS
signing certificate, an SNS ``SubscribeURL``. Every request is recorded
with its headers, so a test can check the API key sent or that a
subscription was confirmed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class MailApiFake:
    """What the fake answers, by path, and what it was asked."""

    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def answer(self, path: str, body: bytes, status: int = 200) -> None:
        self.answers[path] = (status, body)

    def asked(self, path: str) -> int:
        return sum(1 for r in self.requests if r["path"] == path)


@contextmanager
def mail_api_server() -> Iterator[MailApiFake]:
    fake = MailApiFake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            parts = urlsplit(self.path)
            full = parts.path + (f"?{parts.query}" if parts.query else "")
            fake.requests.append({"path": full, "headers": dict(self.headers)})
            status, body = fake.answers.get(
                full, fake.answers.get(parts.path, (404, b'{"message": "not found"}'))
            )
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
