"""Delivery engine: channel pace state, delivery leases and schedule, network error codes,
poll leases.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_sent_at", Timestamp),
        sa.Column("slowdown", sa.Float(), nullable=False),
        sa.Column("paused_until", Timestamp),
        sa.Column("pause_reason", sa.Text()),
        sa.Column("auth_failed_at", Timestamp),
        sa.Column("auth_error", sa.Text()),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_channels_name")),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64)))
        batch.add_column(sa.Column("lease_until", Timestamp))
        batch.add_column(sa.Column("not_before", Timestamp))
        batch.add_column(sa.Column("sent_at", Timestamp))
        batch.create_index("ix_deliveries_channel_status", ["channel", "status", "id"])
        batch.create_index("ix_deliveries_channel_sent", ["channel", "sent_at"])
    # Deliveries sent before this migration count towards the caps from their last change.
    op.execute("UPDATE deliveries SET sent_at = updated_at WHERE status = 'sent'")
    with op.batch_alter_table("delivery_events") as batch:
        batch.add_column(sa.Column("error_code", sa.String(length=64)))
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("poll_claimed_by", sa.String(length=64)))
        batch.add_column(sa.Column("poll_lease_until", Timestamp))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("poll_lease_until")
        batch.drop_column("poll_claimed_by")
    with op.batch_alter_table("delivery_events") as batch:
        batch.drop_column("error_code")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_channel_sent")
        batch.drop_index("ix_deliveries_channel_status")
        for column in ("sent_at", "not_before", "lease_until", "claimed_by"):
            batch.drop_column(column)
    op.drop_table("channels")
