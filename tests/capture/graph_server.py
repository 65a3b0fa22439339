"""A loopback server that answers like the Graph API's lead endpoints.

It serves ``GET /v21.0/{lead-id}`` from a table the test fills: a lead
record, or one of Graph's documented error bodies with its status (an
``OAuthException`` 400, a throttling 429 or code 17, a 500). It also
serves a form's list, ``GET /v21.0/{form-id}/leads``, newest first, with
the ``filtering`` on ``time_created`` applied, at most ``page_size`` leads
a page and opaque ``after`` cursors, ``paging.next`` only while more
follow; when ``token`` is set, a list asked with another token gets
Graph's expired-token error (code 190). Every request is recorded so a
test can check the token and ``appsecret_proof`` sent.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
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
    forms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    list_failures: list[tuple[int, dict[str, Any], dict[str, str]]] = field(
        default_factory=list
    )
    page_size: int = 2
    token: str | None = None

    def form_lead(self, form_id: str, record: dict[str, Any]) -> None:
        self.forms.setdefault(form_id, []).append(record)

    def fail_list(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        """The next list request (of any form) gets this answer instead."""
        self.list_failures.append((status, body, headers or {}))

    def list_answer(
        self, form_id: str, query: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.token is not None and query.get("access_token") != self.token:
            expired = "Error validating access token: Session has expired."
            return 400, graph_error(190, expired, subcode=463), {}
        if self.list_failures:
            return self.list_failures.pop(0)
        if form_id not in self.forms:
            return 400, graph_error(100, "Unsupported get request.", subcode=33), {}
        leads = _filtered(self.forms[form_id], query.get("filtering"))
        offset = _offset(query.get("after"))
        size = min(int(query.get("limit") or 25), self.page_size)
        page = leads[offset : offset + size]
        paging: dict[str, Any] = {
            "cursors": {"before": _cursor(offset), "after": _cursor(offset + size)}
        }
        if offset + size < len(leads):
            paging["next"] = (
                f"{self.base_url}/{form_id}/leads?after={_cursor(offset + size)}"
            )
        return 200, {"data": page, "paging": paging}, {}

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


def _created(lead: dict[str, Any]) -> int:
    stamp = datetime.strptime(lead["created_time"], "%Y-%m-%dT%H:%M:%S%z")
    return int(stamp.timestamp())


def _filtered(
    leads: list[dict[str, Any]], filtering: str | None
) -> list[dict[str, Any]]:
    tests = {
        "GREATER_THAN": lambda t, v: t > v,
        "LESS_THAN": lambda t, v: t < v,
    }
    kept = list(leads)
    for rule in json.loads(filtering or "[]"):
        assert rule["field"] == "time_created", rule
        check, value = tests[rule["operator"]], int(rule["value"])
        kept = [lead for lead in kept if check(_created(lead), value)]
    return sorted(kept, key=_created, reverse=True)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.urlsafe_b64decode(cursor).decode().split(":")[1])


@contextmanager
def graph_server() -> Iterator[GraphFake]:
    fake = GraphFake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            fake.requests.append({"path": url.path, "query": query})
            parts = url.path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == VERSION and parts[2] == "leads":
                status, body, headers = fake.list_answer(parts[1], query)
            elif len(parts) != 2 or parts[0] != VERSION:
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
