"""Fixtures of the capture tests: loopback lead-ad APIs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.capture.graph_server import GraphFake, graph_server
from tests.capture.lead_ads_support import LINKEDIN_FORM_ID, PAGE_TOKEN
from tests.capture.linkedin_server import LinkedInFake, linkedin_server
from tests.capture.provider_support import fixture_json


@pytest.fixture
def graph() -> Iterator[GraphFake]:
    """A loopback Graph API that accepts the test Page token."""
    with graph_server() as fake:
        fake.token = PAGE_TOKEN
        yield fake


@pytest.fixture
def linkedin() -> Iterator[LinkedInFake]:
    """A loopback LinkedIn Lead Sync API that knows the test lead form."""
    with linkedin_server() as fake:
        fake.forms[LINKEDIN_FORM_ID] = fixture_json("linkedin_lead_form.json")
        yield fake
