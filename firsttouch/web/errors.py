"""Turn firsttouch errors into JSON answers with a stable code and status."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from firsttouch.errors import FirsttouchError, InputError, SignatureError

log = structlog.get_logger(__name__)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field  # type: ignore[index]
    return body


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FirsttouchError)
    async def _firsttouch_error(request: Request, exc: FirsttouchError) -> JSONResponse:
        field = exc.field if isinstance(exc, InputError) else None
        if isinstance(exc, SignatureError):
            log.warning(
                "webhook.signature_rejected", path=request.url.path, reason=str(exc)
            )
        return JSONResponse(
            error_body(exc.code, str(exc), field), status_code=exc.status
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(
        request: Request, exc: RequestValidationError
    ) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(
            error_body("input_invalid", str(first.get("msg")), field or None),
            status_code=422,
        )
