"""Request dependencies shared by routers: the runtime and API-key auth."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from firsttouch.capture.accept import AcceptWriter
from firsttouch.errors import FirsttouchError
from firsttouch.runtime import Runtime
from firsttouch.store.models import ApiKey
from firsttouch.web.apikeys import verify_api_key

bearer = HTTPBearer(auto_error=False)


class UnauthorizedError(FirsttouchError):
    code = "unauthorized"
    status = 401


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _runtime_dependency(request: Request) -> Runtime:
    # Async on purpose: FastAPI runs a plain-def dependency on a worker
    # thread, a hop that cost more than the whole webhook route.
    return get_runtime(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime_dependency)]


def get_accept_writer(request: Request) -> AcceptWriter:
    """The app's group-commit writer for accepted webhooks and form posts."""
    writer: AcceptWriter = request.app.state.accept_writer
    return writer


def require_api_key(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
) -> ApiKey:
    """Let the request through only with a live API key (Bearer or X-Api-Key)."""
    presented = (
        credentials.credentials if credentials else request.headers.get("x-api-key")
    )
    if not presented:
        raise UnauthorizedError("send an API key as 'Authorization: Bearer ft_...'")
    runtime = get_runtime(request)
    key = verify_api_key(runtime.db, presented, runtime.clock)
    if key is None:
        raise UnauthorizedError("that API key is unknown or revoked")
    return key
