"""The objects one process shares: settings, database, workspace and clock.

Entry points (web app, worker, CLI) build one ``Runtime`` at start-up and
hand its parts down; layers never build their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from firsttouch import clock as clock_module
from firsttouch.clock import Clock
from firsttouch.config import Settings
from firsttouch.store.db import Database
from firsttouch.workspace import Workspace, load_workspace


@dataclass
class Runtime:
    settings: Settings
    db: Database
    workspace: Workspace
    clock: Clock
    services: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.db.dispose()


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    workspace: Workspace | None = None,
    db: Database | None = None,
) -> Runtime:
    """Load the workspace and open the database named by ``settings``."""
    clock = clock or clock_module.current()
    clock_module.install(clock)
    return Runtime(
        settings=settings,
        db=db or Database(settings.database_url),
        workspace=workspace or load_workspace(settings.workspace_path),
        clock=clock,
    )
