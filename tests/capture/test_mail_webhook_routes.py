"""The inbound-mail routes: served by lean lanes, documented, and 503 with
the variable to set when their provider is not configured."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from firsttouch.runtime import Runtime
from firsttouch.web import create_app
from firsttouch.web.fast_lane import lane_paths
from tests.capture.provider_support import inbounds

PROVIDERS = {
    "amazon-ses": "SES_SNS_TOPIC_ARNS",
    "brevo": "BREVO_INBOUND_AUTH",
    "mailjet": "MAILJET_INBOUND_AUTH",
    "mandrill": "MANDRILL_WEBHOOK_KEY",
    "sparkpost": "SPARKPOST_WEBHOOK_TOKEN",
    "resend": "RESEND_WEBHOOK_SECRET",
    "mailersend": "MAILERSEND_INBOUND_SECRET",
}


def test_every_inbound_mail_route_has_a_lane_ahead_and_is_documented(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)
    lanes = lane_paths(app)
    documented = app.openapi()["paths"]
    for provider in PROVIDERS:
        assert f"/capture/email/{provider}" in lanes
        assert "post" in documented[f"/capture/email/{provider}"]


@pytest.mark.parametrize(("provider", "variable"), PROVIDERS.items())
def test_unconfigured_provider_answers_503_naming_the_variable(
    client: TestClient, runtime: Runtime, provider: str, variable: str
) -> None:
    response = client.post(f"/capture/email/{provider}", content=b"{}")
    assert response.status_code == 503
    assert variable in response.json()["error"]["message"]
    assert inbounds(runtime) == []
