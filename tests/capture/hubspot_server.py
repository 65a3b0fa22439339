"""A loopback HubSpot CRM API: the contacts batch read capture makes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

BATCH_READ = "/crm/v3/objects/contacts/batch/read"


@dataclass
class HubSpotFake:
    """Contacts by id, a token to insist on, and the requests seen."""

    token: str = ""
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A status to answer instead of the contact (429, 500, 404...).
    status: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def answer(
        self, path: str, authorization: str, request: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if authorization != f"Bearer {self.token}":
            return 401, {
                "status": "error",
                "message": "Authentication credentials not found.",
            }
        if self.status is not None:
            return self.status, {"status": "error", "message": "forced by the test"}
        if path != BATCH_READ:
            return 404, {"status": "error", "message": "unknown path"}
        ids = [str(i.get("id")) for i in request.get("inputs") or []]
        results = [
            {
                "id": i,
                "properties": {
                    k: self.contacts[i].get(k) for k in request["properties"]
                },
            }
            for i in ids
            if i in self.contacts
        ]
        missing = [i for i in ids if i not in self.contacts]
        if not missing:
            return 200, {"status": "COMPLETE", "results": results}
        error = {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "context": {"ids": missing},
        }
        return 207, {"status": "COMPLETE", "results": results, "errors": [error]}


@contextmanager
def hubspot_server() -> Iterator[HubSpotFake]:
    fake = HubSpotFake()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append({"path": url.path, "json": request})
            authorization = self.headers.get("Authorization", "")
            status, body = fake.answer(url.path, authorization, request)
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
