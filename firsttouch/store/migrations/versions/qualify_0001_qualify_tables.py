"""qualify tables: qualifications and the enrichment cache

Revision ID: qualify_0001
Revises: core_0001
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import firsttouch.store.types

revision: str = "qualify_0001"
down_revision: str | Sequence[str] | None = "core_0001"
branch_labels: str | Sequence[str] | None = ("qualify",)
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _json(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name,
        sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
        nullable=False,
    )


def _when(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, firsttouch.store.types.UTCDateTime(timezone=True), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "qualifications",
        sa.Column(
            "inbound_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("icp_version", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.Integer(), nullable=False),
        _json("reasons"),
        sa.Column("brief", sa.Text(), nullable=False),
        sa.Column("brief_source", sa.String(length=16), nullable=False),
        _json("facts"),
        _json("sources"),
        sa.Column("disqualified_reason", sa.Text(), nullable=True),
        _id(),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_qualifications_contact_id_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbounds.id"],
            name=op.f("fk_qualifications_inbound_id_inbounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualifications")),
    )
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_qualifications_inbound_icp", ["inbound_id", "icp_version"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qualifications_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qualifications_route"), ["route"], unique=False
        )

    op.create_table(
        "enrichment_cache",
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        _json("facts"),
        _when("fetched_at"),
        _when("expires_at"),
        _id(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrichment_cache")),
        sa.UniqueConstraint("provider", "key", name="uq_enrichment_cache_provider_key"),
    )


def downgrade() -> None:
    op.drop_table("enrichment_cache")
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualifications_route"))
        batch_op.drop_index(batch_op.f("ix_qualifications_contact_id"))
        batch_op.drop_index("ix_qualifications_inbound_icp")
    op.drop_table("qualifications")
