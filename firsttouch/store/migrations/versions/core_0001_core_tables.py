"""core tables

Revision ID: core_0001
Revises:
Create Date: 2026-12-04 15:13:03.076196
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import firsttouch.store.types

revision: str = "core_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("core",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column(
            "revoked_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "last_used_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "companies",
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("name_key", sa.String(length=255), nullable=True),
        sa.Column("industry", sa.String(length=120), nullable=True),
        sa.Column("employee_count", sa.Integer(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column(
            "facts",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("domain", name=op.f("uq_companies_domain")),
    )
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_companies_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_companies_name_key"), ["name_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_companies_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "jobs",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "due_at", firsttouch.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column(
            "lease_expires_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column(
            "started_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "finished_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("idempotency_key", name="uq_jobs_idempotency_key"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_lease", ["state", "lease_expires_at"], unique=False
        )
        batch_op.create_index("ix_jobs_state_due", ["state", "due_at"], unique=False)

    op.create_table(
        "opt_outs",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "revoked_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_outs")),
        sa.UniqueConstraint("channel", "address", name="uq_opt_outs_channel_address"),
    )
    op.create_table(
        "outbound_ledger",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("effect", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "lease_expires_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "done_at", firsttouch.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_ledger")),
        sa.UniqueConstraint("key", name="uq_outbound_ledger_key"),
    )
    op.create_table(
        "users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("rep_id", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column(
            "locked_until",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "last_login_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "contacts",
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_norm", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("phone_e164", sa.String(length=32), nullable=True),
        sa.Column("first_name", sa.String(length=120), nullable=True),
        sa.Column("last_name", sa.String(length=120), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column(
            "company_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("company_name", sa.String(length=255), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column(
            "merged_into_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_contacts_company_id_companies"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["contacts.id"],
            name=op.f("fk_contacts_merged_into_id_contacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index("ix_contacts_email_norm", ["email_norm"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_contacts_merged_into_id"), ["merged_into_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contacts_owner_id"), ["owner_id"], unique=False
        )
        batch_op.create_index("ix_contacts_phone_e164", ["phone_e164"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_contacts_status"), ["status"], unique=False
        )

    op.create_table(
        "contact_merges",
        sa.Column(
            "survivor_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "merged_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "moved",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "undone_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"],
            ["contacts.id"],
            name=op.f("fk_contact_merges_merged_id_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["contacts.id"],
            name=op.f("fk_contact_merges_survivor_id_contacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_merges")),
    )
    op.create_table(
        "deals",
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "company_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column(
            "stage_changed_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "closed_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_deals_company_id_companies")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_deals_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deals_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deals_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "inbounds",
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column(
            "received_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "occurred_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("provider_event_id", sa.String(length=255), nullable=True),
        sa.Column("campaign", sa.String(length=255), nullable=True),
        sa.Column(
            "utm",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column(
            "fields",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("raw_truncated", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("in_reply_to", sa.String(length=998), nullable=True),
        sa.Column(
            "parent_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("sla_state", sa.String(length=32), nullable=False),
        sa.Column(
            "first_touch_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "first_touch_due_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "human_due_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "human_touch_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_inbounds_contact_id_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["inbounds.id"], name=op.f("fk_inbounds_parent_id_inbounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbounds")),
        sa.UniqueConstraint("dedupe_key", name="uq_inbounds_dedupe_key"),
    )
    with op.batch_alter_table("inbounds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbounds_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbounds_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            "ix_inbounds_owner_status", ["owner_id", "status"], unique=False
        )
        batch_op.create_index("ix_inbounds_received_at", ["received_at"], unique=False)

    op.create_table(
        "tasks",
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "due_at", firsttouch.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "done_at", firsttouch.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_tasks_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "activities",
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "deal_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "inbound_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "occurred_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_activities_contact_id_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_activities_deal_id_deals")
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbounds.id"],
            name=op.f("fk_activities_inbound_id_inbounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activities_contact_at", ["contact_id", "occurred_at"], unique=False
        )

    op.create_table(
        "routing_decisions",
        sa.Column(
            "inbound_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("previous_owner_id", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "skipped",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_routing_decisions_contact_id_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbounds.id"],
            name=op.f("fk_routing_decisions_inbound_id_inbounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
    )
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_decisions_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_routing_decisions_inbound_id"), ["inbound_id"], unique=False
        )

    op.create_table(
        "touches",
        sa.Column(
            "inbound_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("template", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column(
            "scheduled_for",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "sent_at", firsttouch.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "meta",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            firsttouch.store.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_touches_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbounds.id"], name=op.f("fk_touches_inbound_id_inbounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_touches")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_touches_idempotency_key")),
    )
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_touches_contact_created", ["contact_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_touches_inbound_id"), ["inbound_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_touches_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_touches_provider_id"), ["provider_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_touches_provider_id"))
        batch_op.drop_index(batch_op.f("ix_touches_message_id"))
        batch_op.drop_index(batch_op.f("ix_touches_inbound_id"))
        batch_op.drop_index("ix_touches_contact_created")

    op.drop_table("touches")
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_decisions_inbound_id"))
        batch_op.drop_index(batch_op.f("ix_routing_decisions_contact_id"))

    op.drop_table("routing_decisions")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_contact_at")

    op.drop_table("activities")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_owner_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_contact_id"))

    op.drop_table("tasks")
    with op.batch_alter_table("inbounds", schema=None) as batch_op:
        batch_op.drop_index("ix_inbounds_received_at")
        batch_op.drop_index("ix_inbounds_owner_status")
        batch_op.drop_index(batch_op.f("ix_inbounds_message_id"))
        batch_op.drop_index(batch_op.f("ix_inbounds_contact_id"))

    op.drop_table("inbounds")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deals_owner_id"))
        batch_op.drop_index(batch_op.f("ix_deals_contact_id"))

    op.drop_table("deals")
    op.drop_table("contact_merges")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_status"))
        batch_op.drop_index("ix_contacts_phone_e164")
        batch_op.drop_index(batch_op.f("ix_contacts_owner_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_merged_into_id"))
        batch_op.drop_index("ix_contacts_email_norm")
        batch_op.drop_index(batch_op.f("ix_contacts_company_id"))

    op.drop_table("contacts")
    op.drop_table("users")
    op.drop_table("outbound_ledger")
    op.drop_table("opt_outs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state_due")
        batch_op.drop_index("ix_jobs_lease")

    op.drop_table("jobs")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_companies_owner_id"))
        batch_op.drop_index(batch_op.f("ix_companies_name_key"))
        batch_op.drop_index(batch_op.f("ix_companies_name"))

    op.drop_table("companies")
    op.drop_table("api_keys")
