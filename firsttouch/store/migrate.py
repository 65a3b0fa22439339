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


def newer_schema(engine: Engine, url: str) -> str | None:
    """What to tell someone whose database a newer firsttouch upgraded (it
    is at revisions this code does not ship, so this code can neither use
    nor migrate it); None when it is not."""
    scripts = ScriptDirectory.from_config(alembic_config(url))
    known = {script.revision for script in scripts.walk_revisions()}
    unknown = current_heads(engine) - known
    if not unknown:
        return None
    return (
        f"the database is at revision {', '.join(sorted(unknown))}, which this "
        "firsttouch does not know: a newer version upgraded it. Run that "
        "version, or restore the backup taken before the upgrade; this one "
        "cannot migrate it back"
    )


def schema_problem(engine: Engine, url: str) -> str | None:
    """Why the database cannot be served as it is, with what to do; None
    when its schema is the one this code ships."""
    newer = newer_schema(engine, url)
    if newer is not None:
        return newer
    if not is_current(engine, url):
        return "the database schema is not current; run `firsttouch db upgrade`"
    return None


def is_current(engine: Engine, url: str) -> bool:
    """True when the database is at every head the code ships."""
    return current_heads(engine) == expected_heads(url)
