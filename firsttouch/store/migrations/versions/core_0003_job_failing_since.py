"""core: when a job's deliveries began failing

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-04 23:55:00

A delivery that fails for a reason that may pass (a mail server down, a
provider's 5xx) is retried for a time, not a number of attempts: the job
needs to remember since when it has been failing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from firsttouch.store.types import UTCDateTime

revision: str = "core_0003"
down_revision: str | Sequence[str] | None = "core_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failing_since", UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("failing_since")
