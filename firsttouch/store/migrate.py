"""Run and inspect Alembic migrations from code (the CLI and tests use it).

Each layer may keep its own migration branch on top of the core one, so the
target is always ``heads``: every branch brought up to date.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from firsttouch.store.db import normalise_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointed at our migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at ``url`` up to ``revision`` (all heads by default)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Take the database at ``url`` down to ``revision``."""
    command.downgrade(alembic_config(url), revision)


def expected_heads(url: str) -> set[str]:
    """Return the head revisions the code ships."""
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def current_heads(engine: Engine) -> set[str]:
    """Return the revisions the database says it is at."""
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def unknown_revisions(engine: Engine, url: str) -> set[str]:
    """Revisions the database is at that this code does not ship: a newer
    firsttouch upgraded it, and this one can neither use nor migrate it."""
    known = {
        script.revision
        for script in ScriptDirectory.from_config(alembic_config(url)).walk_revisions()
    }
    return current_heads(engine) - known


def newer_schema_message(unknown: set[str]) -> str:
    """What to tell someone running older code on a newer database."""
    return (
        f"the database is at revision {', '.join(sorted(unknown))}, which this "
        "firsttouch does not know: a newer version upgraded it. Run that "
        "version, or restore the backup taken before the upgrade; this one "
        "cannot migrate it back"
    )


def is_current(engine: Engine, url: str) -> bool:
    """True when the database is at every head the code ships."""
    return current_heads(engine) == expected_heads(url)
