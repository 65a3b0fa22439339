"""The FastAPI app factory: one app per runtime, routers from every area."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from firsttouch import __version__
from firsttouch.capture.accept import AcceptWriter
from firsttouch.runtime import Runtime
from firsttouch.web import health
from firsttouch.web.errors import install_error_handlers
from firsttouch.web.metrics import Metrics
from firsttouch.web.middleware import RequestContextMiddleware
from firsttouch.web.rate_limits import RateLimiter
from firsttouch.web.routers import include_routers


def create_app(runtime: Runtime) -> FastAPI:
    """Build the web app around ``runtime`` (tests pass their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for hook in app.state.shutdown_hooks:
                hook()
            # Whatever is still waiting for its group commit is written
            # before the process goes.
            app.state.accept_writer.stop()

    app = FastAPI(
        title="firsttouch",
        version=__version__,
        description="Capture, answer, qualify, nurture and log every inbound lead.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.metrics = Metrics()
    app.state.accept_writer = AcceptWriter(runtime)
    app.state.form_rate_limiter = RateLimiter(runtime.settings.rate_limit_file)
    # Called in order when the app shuts down (serve stops its workers here).
    app.state.shutdown_hooks = []

    install_error_handlers(app)
    app.include_router(health.router)
    include_routers(app)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=runtime.settings.max_body_bytes,
        wider_caps={"/capture/email/": runtime.settings.max_mail_body_bytes},
    )
    return app
