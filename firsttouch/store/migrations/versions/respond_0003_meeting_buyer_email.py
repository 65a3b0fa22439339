"""respond: a meeting keeps the address its buyer typed on the booking page

A booking link with no contact behind it (a lead from a call or a text
whose contact is gone, or a link issued without one) still asks the buyer
for an address, so the invitation reaches them; the meeting holds it.

Revision ID: respond_0003_meeting_email
Revises: respond_0002
Create Date: 2026-12-04 20:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "respond_0003_meeting_email"
down_revision: str | Sequence[str] | None = "respond_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("buyer_email", sa.String(length=320), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("buyer_email")
