"""A loopback server that answers like LinkedIn's Lead Sync API.

It serves the owner finder, ``GET /rest/leadFormResponses?q=owner&owner=
(sponsoredAccount:<encoded urn>)&leadType=(leadType:SPONSORED)&
submittedAtTimeRange=(start:<ms>,end:<ms>)&start=&count=``, newest first,
at most ``page_size`` responses a page with ``paging.total``. An
organization owner (``owner=(organization:<encoded urn>)``) is asked for
one organic type at a time (EVENT, COMPANY, ORGANIZATION_PRODUCT) and an
ad account only for SPONSORED; any other pairing is LinkedIn's 400. Each
listing holds only the responses of the type asked for; one response
by id (``/rest/leadFormResponses/{id}``) and one form (``/rest/leadForms/{id}``).
The finder's query is read raw and must be in Rest.li 2.0 form (tuple
syntax as is, the URN inside percent-encoded), else 400. A request
without the bearer token it expects gets LinkedIn's 401 body; queued
failures (a 429 with ``Retry-After``) answer the next finder call.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse

TOKEN = "li-access-token-for-tests"
_OWNER = re.compile(
    r"^\((sponsoredAccount|organization):(urn%3Ali%3A(?:sponsoredAccount|organization)%3A\d+)\)$"
)
_TYPE = re.compile(r"^\(leadType:([A-Z_]+)\)$")
# The lead types each kind of owner has, as the finder accepts them.
OWNER_TYPES = {
    "sponsoredAccount": {"SPONSORED"},
    "organization": {"EVENT", "COMPANY", "ORGANIZATION_PRODUCT"},
}
_RANGE = re.compile(r"^\(start:(\d+),end:(\d+)\)$")

Answer = tuple[int, dict[str, Any], dict[str, str]]


def linkedin_error(status: int, code: str, message: str) -> dict[str, Any]:
    """LinkedIn's error body (status, serviceErrorCode, code, message)."""
    return {"status": status, "serviceErrorCode": 100, "code": code, "message": message}


@dataclass
class LinkedInFake:
    """What the fake holds, by ad account and form, and what it was asked."""

    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[Answer] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    token: str = TOKEN
    base_url: str = ""

    def response(self, owner_urn: str, record: dict[str, Any]) -> None:
        self.responses.setdefault(owner_urn, []).append(record)

    def fail(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.failures.append((status, body, headers or {}))

    def answer(self, path: str, raw_query: str, headers: dict[str, str]) -> Answer:
        if headers.get("authorization") != f"Bearer {self.token}":
            body = linkedin_error(401, "INVALID_ACCESS_TOKEN", "Invalid access token")
            return 401, body, {}
        if headers.get("x-restli-protocol-version") != "2.0.0" or not headers.get(
            "linkedin-version"
        ):
            return 400, linkedin_error(400, "BAD_REQUEST", "Missing headers"), {}
        if path == "/rest/leadFormResponses":
            return self._find(raw_query)
        if path.startswith("/rest/leadFormResponses/"):
            return self._one_response(path.rsplit("/", 1)[1])
        if path.startswith("/rest/leadForms/"):
            form = self.forms.get(path.rsplit("/", 1)[1])
            if form is not None:
                return 200, form, {}
        return 404, linkedin_error(404, "NOT_FOUND", "Not found"), {}

    def _find(self, raw_query: str) -> Answer:
        if self.failures:
            return self.failures.pop(0)
        params = dict(part.split("=", 1) for part in raw_query.split("&"))
        owner = _OWNER.match(params.get("owner", ""))
        lead_type = _TYPE.match(params.get("leadType", ""))
        window = _RANGE.match(params.get("submittedAtTimeRange", ""))
        if params.get("q") != "owner" or not owner or not lead_type or not window:
            return 400, linkedin_error(400, "BAD_REQUEST", "Bad finder query"), {}
        kind, urn = owner.group(1), unquote(owner.group(2))
        if not urn.startswith(f"urn:li:{kind}:"):
            return (
                400,
                linkedin_error(400, "BAD_REQUEST", "Owner key and URN differ"),
                {},
            )
        if lead_type.group(1) not in OWNER_TYPES[kind]:
            message = f"leadType {lead_type.group(1)} is not valid for a {kind} owner"
            return 400, linkedin_error(400, "BAD_REQUEST", message), {}
        first, last = int(window.group(1)), int(window.group(2))
        held = [
            r
            for r in self.responses.get(urn, [])
            if first <= r["submittedAt"] < last
            and r.get("leadType", "SPONSORED") == lead_type.group(1)
        ]
        held.sort(key=lambda r: r["submittedAt"], reverse=True)
        start = int(params.get("start", "0"))
        count = min(int(params.get("count", "10")), self.page_size)
        page = held[start : start + count]
        paging = {"start": start, "count": count, "total": len(held), "links": []}
        return 200, {"elements": page, "paging": paging}, {}

    def _one_response(self, response_id: str) -> Answer:
        for records in self.responses.values():
            for record in records:
                if record["id"] == response_id:
                    return 200, record, {}
        return 404, linkedin_error(404, "NOT_FOUND", "No such response"), {}


@contextmanager
def linkedin_server() -> Iterator[LinkedInFake]:
    fake = LinkedInFake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            url = urlparse(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append({"path": url.path, "query": url.query, **headers})
            status, body, extra = fake.answer(url.path, url.query, headers)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/rest"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
