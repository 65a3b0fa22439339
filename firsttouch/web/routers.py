"""Every router the app mounts, in one list, so adding an area is one line."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from firsttouch.web import (
    alert_routes,
    booking_routes,
    call_routes,
    fast_lane,
    respond_routes,
)
from firsttouch.web.dashboard import router as dashboard_router


def include_routers(app: FastAPI) -> None:
    """Mount the routers of capture, respond, the dashboard and the API.

    Capture comes first: a request is matched against the routes in order,
    and webhooks and form posts are the traffic that arrives in bursts.
    """
    from firsttouch.web import (
        capture_api,
        capture_app_webhooks,
        capture_email_webhooks,
        capture_forms,
        capture_webhooks,
    )

    app.include_router(capture_webhooks.router)
    app.include_router(capture_app_webhooks.router)
    app.include_router(capture_email_webhooks.router)
    app.include_router(capture_forms.router)
    app.include_router(capture_api.router)
    app.include_router(respond_routes.router)
    app.include_router(booking_routes.router)
    app.include_router(alert_routes.router)
    app.include_router(call_routes.router)
    app.include_router(dashboard_router)
    # Every capture POST again, served by a lane ahead of all the routers.
    fast_lane.install(
        app,
        [
            (route.path, route.endpoint)
            for module in (
                capture_webhooks,
                capture_app_webhooks,
                capture_email_webhooks,
                capture_forms,
            )
            for route in module.router.routes
            if isinstance(route, APIRoute) and "POST" in (route.methods or ())
        ],
    )
