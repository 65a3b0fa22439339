"""Fixtures of the capture tests: loopback lead-ad APIs, and a runtime polling
them on either engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.workspace import Workspace
from tests.capture.graph_server import GraphFake, graph_server
from tests.capture.lead_ads_support import LINKEDIN_FORM_ID, PAGE_TOKEN, lead_ads_env
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


@pytest.fixture
def polling_any(
    any_db: Database,
    settings: Settings,
    workspace: Workspace,
    clock: VirtualClock,
    graph: GraphFake,
    linkedin: LinkedInFake,
) -> Runtime:
    """A runtime on SQLite and on PostgreSQL, set to poll both loopback APIs."""
    return Runtime(
        settings=lead_ads_env(
            settings.with_overrides(database_url=any_db.url), graph, linkedin
        ),
        db=any_db,
        workspace=workspace,
        clock=clock,
    )
