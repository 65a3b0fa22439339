"""core: an index for claiming jobs a rank at a time

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-05 02:05:00

The claim took its ranks from one ordering over every due job, so its cost
grew with the backlog: 4 ms a claim behind 5,000 queued qualifications,
under the SQLite writer lock that every lead waits for. It now asks each
rank for its due jobs by kind and due time, which this index serves.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "core_0004"
down_revision: str | Sequence[str] | None = "core_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_jobs_state_kind_due", "jobs", ["state", "kind", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state_kind_due", table_name="jobs")
