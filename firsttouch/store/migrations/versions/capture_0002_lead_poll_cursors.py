"""capture tables: the cursor of each polled lead-ad source

Continues the capture layer's branch (labelled ``imap`` by its first
revision, the IMAP cursor).

Revision ID: capture_0002
Revises: imap_0001
Create Date: 2026-12-04 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import firsttouch.store.types

revision: str = "capture_0002"
down_revision: str | Sequence[str] | None = "imap_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_poll_cursors",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column(
            "last_created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_poll_cursors")),
        sa.UniqueConstraint("provider", "target", name="uq_lead_poll_cursors_target"),
    )


def downgrade() -> None:
    op.drop_table("lead_poll_cursors")
