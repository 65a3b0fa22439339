"""ASGI middleware: request ids, one canonical log line, body cap, metrics.

Written as plain ASGI rather than ``BaseHTTPMiddleware`` because the latter
adds a task and a copy per request, which shows at webhook rates.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Mapping
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from firsttouch.web.metrics import Metrics

log = structlog.get_logger("firsttouch.web.request")


class BodyTooLarge(Exception):
    pass


# Request ids: a random prefix per process and a counter. uuid4 read the
# kernel's random source on every request, about 8% of a webhook's CPU.
_id_prefix = os.urandom(6).hex()
_id_counter = itertools.count(1)


def _new_id_prefix() -> None:
    global _id_prefix, _id_counter  # noqa: PLW0603 - a forked child's own ids
    _id_prefix, _id_counter = os.urandom(6).hex(), itertools.count(1)


os.register_at_fork(after_in_child=_new_id_prefix)


def new_request_id() -> str:
    """A request id unique across processes and restarts (random prefix)."""
    return f"{_id_prefix}{next(_id_counter):08x}"


class RequestContextMiddleware:
    """Bind a request id, cap the body, count and log each request once."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        max_body_bytes: int,
        wider_caps: Mapping[str, int] | None = None,
    ):
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        # Path prefixes whose bodies may be larger (inbound mail).
        self.wider_caps = dict(wider_caps or {})
        # The labelled series of each (method, route, status): looking a
        # child up by its labels on every request cost more than counting.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _cap(self, path: str) -> int:
        for prefix, cap in self.wider_caps.items():
            if path.startswith(prefix):
                return max(cap, self.max_body_bytes)
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode()[:64] or new_request_id()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = {"code": 500}

        cap = self._cap(scope.get("path", ""))
        declared = headers.get(b"content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            await self._too_large(send, request_id, cap)
            self._finish(scope, 413, started)
            return

        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge()
            return message

        async def tagged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (b"x-request-id", request_id.encode())
                ]
            await send(message)

        try:
            await self.app(scope, capped_receive, tagged_send)
        except BodyTooLarge:
            await self._too_large(send, request_id, cap)
            status["code"] = 413
        finally:
            self._finish(scope, status["code"], started)

    async def _too_large(self, send: Send, request_id: str, cap: int) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "payload_too_large",
                    "message": f"request body is over {cap} bytes",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _series_of(self, method: str, template: str, status: int) -> tuple[Any, Any]:
        key = (method, template, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.metrics.requests.labels(method, template, str(status)),
                self.metrics.latency.labels(template),
            )
        return series

    def _finish(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        requests, latency = self._series_of(scope["method"], template, status)
        requests.inc()
        latency.observe(elapsed)
        level = "warning" if status >= 500 else "info"
        if template in ("/healthz", "/metrics") and status < 400:
            level = "debug"
        getattr(log, level)(
            "request.finished",
            method=scope["method"],
            route=template,
            status=status,
            ms=round(elapsed * 1000, 2),
        )
