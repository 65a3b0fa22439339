"""respond: meetings can be rescheduled and cancelled

Adds the slot a meeting holds (unique while it holds it, empty once
cancelled), its iCalendar SEQUENCE and when it was cancelled. The slot
used to be guarded by the UID, derived from the owner and the start; a
rescheduled meeting keeps its UID, so the guard moves to its own column.

Revision ID: respond_0002
Revises: respond_0001
Create Date: 2026-12-04 18:45:00
"""

from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

import firsttouch.store.types

revision: str = "respond_0002"
down_revision: str | Sequence[str] | None = "respond_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot_key", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("sequence", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "cancelled_at",
                firsttouch.store.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
    _fill_slot_keys()
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_meetings_slot_key", ["slot_key"])


def _fill_slot_keys() -> None:
    # Written out here rather than imported, so this revision keeps meaning
    # what it meant when the code around it changes.
    meetings = sa.table(
        "meetings",
        sa.column("id", sa.BigInteger()),
        sa.column("owner_id", sa.String()),
        sa.column("starts_at", firsttouch.store.types.UTCDateTime(timezone=True)),
        sa.column("status", sa.String()),
        sa.column("slot_key", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(meetings.c.id, meetings.c.owner_id, meetings.c.starts_at).where(
            meetings.c.status == "confirmed"
        )
    ).all()
    for meeting_id, owner_id, starts_at in rows:
        start = starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        bind.execute(
            meetings.update()
            .where(meetings.c.id == meeting_id)
            .values(slot_key=f"{owner_id}|{start}")
        )


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint("uq_meetings_slot_key", type_="unique")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("sequence")
        batch_op.drop_column("slot_key")
