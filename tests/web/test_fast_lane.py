"""The capture POST routes are served by a lane ahead of every router."""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi.testclient import TestClient

from firsttouch.runtime import Runtime
from firsttouch.web import create_app
from firsttouch.web.fast_lane import lane_paths

SECRET = "lane-test-secret"  # noqa: S105


def _lane_paths(runtime: Runtime) -> list[str]:
    return lane_paths(create_app(runtime))


def test_every_capture_post_has_a_lane_and_stays_documented(
    runtime: Runtime,
) -> None:
    paths = _lane_paths(runtime)

    assert "/capture/chat/generic" in paths
    assert "/capture/forms/{form_key}" in paths
    assert "/capture/twilio/sms" in paths
    documented = create_app(runtime).openapi()["paths"]
    assert "/capture/chat/generic" in documented
    assert "post" in documented["/capture/forms/{form_key}"]


def test_a_lane_answers_errors_with_the_apps_handlers_and_labels_its_route(
    runtime: Runtime,
) -> None:
    runtime.settings = runtime.settings.with_overrides(
        env={"GENERIC_CHAT_SECRET": SECRET}
    )
    body = json.dumps({"id": "lane-1", "visitor": {"email": "a@lane.example"}})
    digest = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()

    with TestClient(create_app(runtime)) as client:
        unsigned = client.post("/capture/chat/generic", content=body)
        signed = client.post(
            "/capture/chat/generic",
            content=body,
            headers={"X-Firsttouch-Signature": f"sha256={digest}"},
        )
        unknown_form = client.post("/capture/forms/no-such-form", json={})
        metrics = client.get("/metrics").text

    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "signature_invalid"
    assert unsigned.headers["x-request-id"]
    assert signed.status_code == 200 and signed.json()["accepted"] is True
    assert unknown_form.status_code == 404
    assert 'route="/capture/forms/{form_key}"' in metrics
    assert 'route="/capture/chat/generic",status="401"' in metrics
