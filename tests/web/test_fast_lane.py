"""The capture POST routes are served by lean routes ahead of every router."""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.routing import Route

from firsttouch.runtime import Runtime
from firsttouch.web import create_app


def test_every_capture_post_has_a_lane_ahead_and_stays_documented(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)
    lanes = []
    for route in app.router.routes:
        if not isinstance(route, Route) or isinstance(route, APIRoute):
            break
        if route.path.startswith("/capture/"):
            lanes.append(route.path)

    assert "/capture/chat/generic" in lanes
    assert "/capture/forms/{form_key}" in lanes
    assert "/capture/twilio/sms" in lanes
    documented = app.openapi()["paths"]
    assert "/capture/chat/generic" in documented
    assert "post" in documented["/capture/forms/{form_key}"]
