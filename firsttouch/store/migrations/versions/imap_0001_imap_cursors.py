"""imap tables: the UID cursor of each polled mailbox folder

Revision ID: imap_0001
Revises: core_0001
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import firsttouch.store.types

revision: str = "imap_0001"
down_revision: str | Sequence[str] | None = "core_0001"
branch_labels: str | Sequence[str] | None = ("imap",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imap_cursors",
        sa.Column("mailbox", sa.String(length=512), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imap_cursors")),
        sa.UniqueConstraint("mailbox", name="uq_imap_cursors_mailbox"),
    )


def downgrade() -> None:
    op.drop_table("imap_cursors")
