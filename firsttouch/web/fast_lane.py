"""The inbound hot paths, served without FastAPI's per-request machinery.

Webhooks and form posts arrive in bursts, and for them FastAPI's dependency
solving and route matching (every included router in turn) cost about as
much CPU as the handler itself. Their handlers take only the request, the
runtime and path parameters, so each is also mounted as a plain Starlette
route ahead of every router. The app's middleware and error handlers wrap
it as they wrap any route; the FastAPI route stays registered for /docs.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[..., Awaitable[Response]]


def install(app: FastAPI, lanes: Sequence[tuple[str, Endpoint]]) -> None:
    """Put a POST route for each (path, endpoint) before every other route."""
    routes = [_route(path, endpoint) for path, endpoint in lanes]
    app.router.routes[0:0] = routes


def _route(path: str, endpoint: Endpoint) -> Route:
    names = list(inspect.signature(endpoint).parameters)
    route: Route

    async def call(request: Request) -> Response:
        # The metrics middleware labels requests by the route's template.
        request.scope["route"] = route
        arguments: dict[str, Any] = {}
        for name in names:
            if name == "request":
                arguments[name] = request
            elif name == "runtime":
                arguments[name] = request.app.state.runtime
            else:
                arguments[name] = request.path_params[name]
        return await endpoint(**arguments)

    route = Route(path, call, methods=["POST"], name=f"{endpoint.__name__} (lane)")
    return route
