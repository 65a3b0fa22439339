"""`firsttouch preview TEMPLATE --inbound ID` renders without sending."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner, Result

from firsttouch.cli import app
from firsttouch.runtime import Runtime
from firsttouch.store.models import Touch
from tests.conftest import EXAMPLE_WORKSPACE
from tests.respond.conftest import add_lead


def preview(runtime: Runtime, template: str, inbound_id: int) -> Result:
    """`firsttouch preview TEMPLATE --inbound ID` on the example workspace."""
    return CliRunner().invoke(
        app,
        [
            "preview",
            template,
            "--inbound",
            str(inbound_id),
            "--workspace",
            str(EXAMPLE_WORKSPACE),
            "--database-url",
            runtime.db.url,
        ],
    )


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # The CLI configures logging onto the runner's captured stderr, which is
    # closed after the run; later tests must not log into it.
    handlers = list(logging.root.handlers)
    yield
    structlog.reset_defaults()
    logging.root.handlers[:] = handlers


def test_preview_renders_the_inbound_s_values(runtime: Runtime) -> None:
    inbound_id = add_lead(runtime, first_name="Ann")
    result = preview(runtime, "first_touch_email", inbound_id)
    assert result.exit_code == 0, result.output
    assert "Subject: Thanks for contacting Northwind Ledger" in result.output
    assert "Hi Ann," in result.output
    assert "segment(s)" in result.output
    with runtime.db.sessions() as session:
        assert session.query(Touch).count() == 0


def test_preview_names_a_missing_inbound(runtime: Runtime, tmp_path: Path) -> None:
    result = preview(runtime, "first_touch_sms", 999)
    assert result.exit_code == 1
    assert "no inbound with id 999" in result.output


def test_preview_of_a_wrong_template_name_lists_the_workspace_s_templates(
    runtime: Runtime,
) -> None:
    inbound_id = add_lead(runtime, first_name="Ann")
    result = preview(runtime, "first_touch_mail", inbound_id)

    assert result.exit_code == 1
    assert "no template named 'first_touch_mail'" in result.output
    assert "first_touch_email, first_touch_sms, followup_1" in result.output
