"""A loopback server that answers like the Graph API's lead endpoint.

It serves ``GET /v21.0/{lead-id}`` from a table the test fills: a lead
record, or one of Graph's documented error bodies with its status (an
``OAuthException`` 400, a throttling 429 or code 17, a 500). Every request
is recorded so a test can check the token and ``appsecret_proof`` sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

VERSION = "v21.0"


def graph_error(
    code: int, message: str, kind: str = "OAuthException", subcode: int | None = None
) -> dict[str, Any]:
    """Graph's documented error body (graph-api/guides/error-handling)."""
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": "AbCdEfGh123",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@dataclass
class GraphFake:
    """What the fake answers, by lead id, and what it was asked."""

    answers: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = field(
        default_factory=dict
    )
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def lead(self, lead_id: str, record: dict[str, Any]) -> None:
        self.answers.setdefault(lead_id, []).append((200, record, {}))

    def fail(
        self,
        lead_id: str,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.answers.setdefault(lead_id, []).append((status, body, headers or {}))

    def answer(self, lead_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        queue = self.answers.get(lead_id)
        if not queue:
            return (
                400,
                graph_error(
                    100,
                    f"Object with ID '{lead_id}' does not exist",
                    "GraphMethodException",
                    33,
                ),
                {},
            )
        # The last answer repeats, so "fail once then succeed" is two entries.
        return queue.pop(0) if len(queue) > 1 else queue[0]


@contextmanager
def graph_server() -> Iterator[GraphFake]:
    fake = GraphFake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            fake.requests.append({"path": url.path, "query": query})
            parts = url.path.strip("/").split("/")
            if len(parts) != 2 or parts[0] != VERSION:
                status, body, headers = 404, graph_error(803, "Unknown path"), {}
            else:
                status, body, headers = fake.answer(parts[1])
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/{VERSION}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
