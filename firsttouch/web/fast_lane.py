"""The inbound hot paths, served without FastAPI's per-request machinery.

Webhooks and form posts arrive in bursts. Their handlers take only the
request, the runtime and path parameters, so the lane calls them straight
from the middleware stack: past the request-context middleware (request id,
body cap, metrics, the canonical log line), but before the exception
middleware, the dependency exit stack, the router's walk over every route
and the per-route wrappers, which together cost about as much CPU as the
handler itself. The app's exception handlers still answer the lane's
errors, found the way Starlette finds them. The FastAPI routes stay
registered, for /docs and for any request the lane does not take.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from fastapi import FastAPI
from starlette._utils import is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[..., Awaitable[Response]]


class _Lane:
    """One endpoint, and how to call it with what a request carries."""

    def __init__(self, path: str, endpoint: Endpoint):
        self.endpoint = endpoint
        self.names = list(inspect.signature(endpoint).parameters)
        # Matches templated paths, and labels the request in metrics.
        self.route = Route(
            path, endpoint, methods=["POST"], name=f"{endpoint.__name__} (lane)"
        )

    async def call(self, request: Request, path_params: dict[str, Any]) -> Response:
        arguments: dict[str, Any] = {}
        for name in self.names:
            if name == "request":
                arguments[name] = request
            elif name == "runtime":
                arguments[name] = request.app.state.runtime
            else:
                arguments[name] = path_params[name]
        return await self.endpoint(**arguments)


class FastLaneMiddleware:
    """Serve POSTs to the lanes' paths directly; pass anything else on."""

    def __init__(
        self,
        app: ASGIApp,
        lanes: Sequence[tuple[str, Endpoint]],
        handlers: Mapping[Any, Callable[..., Any]],
    ):
        self.app = app
        self.handlers = handlers
        self.lanes = [_Lane(path, endpoint) for path, endpoint in lanes]
        # Most lanes are fixed paths: one dict lookup instead of a regex each.
        self.fixed = {
            lane.route.path: lane for lane in self.lanes if "{" not in lane.route.path
        }
        self.templated = [lane for lane in self.lanes if "{" in lane.route.path]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        found = self._match(scope)
        if found is None:
            await self.app(scope, receive, send)
            return

        lane, path_params = found
        # The request-context middleware labels metrics by the route's template.
        scope["route"] = lane.route
        scope["path_params"] = path_params
        request = Request(scope, receive, send)
        try:
            response = await lane.call(request, path_params)
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[_Lane, dict[str, Any]] | None:
        if not scope.get("root_path"):
            lane = self.fixed.get(scope["path"])
            if lane is not None:
                return lane, {}
        for lane in self.templated:
            match, child = lane.route.matches(scope)
            if match is Match.FULL:
                return lane, child["path_params"]
        return None

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """The app's answer to ``exc``, as its exception middleware would give it."""
        handler = None
        if isinstance(exc, HTTPException):
            handler = self.handlers.get(exc.status_code)
        for cls in type(exc).__mro__:
            if handler is not None:
                break
            handler = self.handlers.get(cls)
        if handler is None:
            raise exc
        if is_async_callable(handler):
            response = await handler(request, exc)
        else:
            response = await run_in_threadpool(handler, request, exc)
        # A reused exception instance would keep collecting tracebacks.
        exc.__traceback__ = None
        return response  # type: ignore[no-any-return]


def install(app: FastAPI, lanes: Sequence[tuple[str, Endpoint]]) -> None:
    """Serve a POST to each (path, endpoint) ahead of the app's routing.

    Add before the request-context middleware, so that one wraps the lane.
    """
    app.add_middleware(
        FastLaneMiddleware,
        lanes=lanes,
        handlers=app.exception_handlers,
    )


def lane_paths(app: FastAPI) -> list[str]:
    """The path templates ``app`` serves through its lanes, in order."""
    paths: list[str] = []
    for middleware in app.user_middleware:
        if cast(Any, middleware.cls) is FastLaneMiddleware:
            lanes = cast(Sequence[tuple[str, Endpoint]], middleware.kwargs["lanes"])
            paths += [path for path, _ in lanes]
    return paths
