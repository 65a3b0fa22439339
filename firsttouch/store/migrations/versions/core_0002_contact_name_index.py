"""core: an index for matching a contact by name

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-12-04 18:40:00

A lead with no email or phone match is matched by first and last name
(case-insensitive) within a company; without this index every such lead
read the whole contacts table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0002"
down_revision: str | Sequence[str] | None = "core_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_contacts_name_lower",
        "contacts",
        [sa.text("lower(first_name)"), sa.text("lower(last_name)")],
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_name_lower", table_name="contacts")
