"""The workspace's icp.enrichment section decides which sources run; a
half-configured paid source or LLM is a start-up error that says what to set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from firsttouch.clock import VirtualClock
from firsttouch.config import Settings
from firsttouch.errors import ConfigError, InputError
from firsttouch.qualify.handlers import _inbound_id, build_llm, build_providers
from firsttouch.runtime import Runtime
from firsttouch.store.db import Database
from firsttouch.workspace import Workspace


def _runtime(
    settings: Settings,
    db: Database,
    workspace: Workspace,
    clock: VirtualClock,
    **enrichment: Any,
) -> Runtime:
    icp = workspace.icp
    config = icp.enrichment.model_validate(
        {**icp.enrichment.model_dump(), **enrichment}
    )
    changed = workspace.model_copy(
        update={"icp": icp.model_copy(update={"enrichment": config})}
    )
    return Runtime(settings=settings, db=db, workspace=changed, clock=clock)


def test_every_source_turned_on_is_built_in_trust_order(
    settings: Settings,
    db: Database,
    workspace: Workspace,
    clock: VirtualClock,
    tmp_path: Path,
) -> None:
    pd.DataFrame([{"domain": "acme.example", "name": "Acme"}]).to_csv(
        tmp_path / "accounts.csv", index=False
    )
    runtime = _runtime(
        settings.with_overrides(env={"PDL_KEY": "k"}),
        db,
        workspace,
        clock,
        directory={"path": str(tmp_path / "accounts.csv")},
        paid_api={
            "enabled": True,
            "base_url": "http://127.0.0.1:9",
            "api_key_env": "PDL_KEY",
        },
        website={"enabled": True},
        dns={"enabled": True, "nameservers": ["127.0.0.1"]},
    )
    names = [p.name for p in build_providers(runtime)]
    assert names == [
        "email",
        "title",
        "directory",
        "people_data_labs",
        "website",
        "dns",
    ]


def test_a_missing_directory_file_loses_that_source_only(
    settings: Settings,
    db: Database,
    workspace: Workspace,
    clock: VirtualClock,
    tmp_path: Path,
) -> None:
    runtime = _runtime(
        settings, db, workspace, clock, directory={"path": str(tmp_path / "nope.csv")}
    )
    assert [p.name for p in build_providers(runtime)] == ["email", "title"]


def test_a_paid_source_without_a_base_url_is_a_config_error(
    settings: Settings,
    db: Database,
    workspace: Workspace,
    clock: VirtualClock,
) -> None:
    runtime = _runtime(
        settings,
        db,
        workspace,
        clock,
        paid_api={"enabled": True, "api_key_env": "PDL_KEY"},
    )
    with pytest.raises(ConfigError, match="base_url"):
        build_providers(runtime)


def test_a_paid_source_whose_key_is_not_set_names_the_variable(
    settings: Settings,
    db: Database,
    workspace: Workspace,
    clock: VirtualClock,
) -> None:
    runtime = _runtime(
        settings,
        db,
        workspace,
        clock,
        paid_api={
            "enabled": True,
            "base_url": "http://127.0.0.1:9",
            "api_key_env": "PDL_API_KEY",
        },
    )
    with pytest.raises(ConfigError, match="PDL_API_KEY"):
        build_providers(runtime)


def test_the_llm_brief_is_off_by_default_and_needs_a_base_url(
    settings: Settings,
    db: Database,
    workspace: Workspace,
    clock: VirtualClock,
) -> None:
    assert build_llm(_runtime(settings, db, workspace, clock)) is None
    with pytest.raises(ConfigError, match="base_url"):
        build_llm(_runtime(settings, db, workspace, clock, llm_brief={"enabled": True}))
    writer = build_llm(
        _runtime(
            settings,
            db,
            workspace,
            clock,
            llm_brief={
                "enabled": True,
                "base_url": "http://127.0.0.1:11434/v1",
                "model": "llama3.1",
            },
        )
    )
    assert writer is not None and writer.model == "llama3.1"


@pytest.mark.parametrize("payload", [{}, {"inbound_id": "x"}, {"inbound": 3}])
def test_a_malformed_payload_says_what_is_expected(payload: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="inbound_id"):
        _inbound_id(payload)
