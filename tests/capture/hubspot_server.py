"""A loopback HubSpot CRM API: the one contact read capture makes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

PREFIX = "/crm/v3/objects/contacts/"


@dataclass
class HubSpotFake:
    """Contacts by id, a token to insist on, and the requests seen."""

    token: str = ""
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A status to answer instead of the contact (429, 500, 404...).
    status: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def answer(self, path: str, authorization: str) -> tuple[int, dict[str, Any]]:
        if authorization != f"Bearer {self.token}":
            return 401, {
                "status": "error",
                "message": "Authentication credentials not found.",
            }
        if self.status is not None:
            return self.status, {"status": "error", "message": "forced by the test"}
        contact_id = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        if contact_id not in self.contacts:
            return 404, {"status": "error", "message": "resource not found"}
        return 200, {"id": contact_id, "properties": self.contacts[contact_id]}


@contextmanager
def hubspot_server() -> Iterator[HubSpotFake]:
    fake = HubSpotFake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            fake.requests.append({"path": url.path, "query": query})
            status, body = fake.answer(url.path, self.headers.get("Authorization", ""))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
