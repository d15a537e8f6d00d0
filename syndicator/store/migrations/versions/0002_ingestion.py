"""Ingestion: source health and WebSub state, one article per URL across sources, article events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("next_poll_at", Timestamp))
        batch.add_column(
            sa.Column("articles_seen", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("hub_url", sa.Text()))
        batch.add_column(sa.Column("websub_topic", sa.Text()))
        batch.add_column(sa.Column("websub_state", sa.String(length=16)))
        batch.add_column(sa.Column("websub_lease_until", Timestamp))
        batch.add_column(sa.Column("websub_error", sa.Text()))
    with op.batch_alter_table("sources") as batch:
        batch.alter_column("articles_seen", server_default=None)
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("updated_at", Timestamp))
        batch.drop_constraint("uq_articles_source_url_key", type_="unique")
        batch.create_unique_constraint("uq_articles_url_key", ["url_key"])
    op.create_table(
        "article_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer()),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_events_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_article_events_source_id_sources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_events")),
    )
    op.create_index(op.f("ix_article_events_article_id"), "article_events", ["article_id"])


def downgrade() -> None:
    op.drop_table("article_events")
    with op.batch_alter_table("articles") as batch:
        batch.drop_constraint("uq_articles_url_key", type_="unique")
        batch.create_unique_constraint("uq_articles_source_url_key", ["source_id", "url_key"])
        batch.drop_column("updated_at")
    with op.batch_alter_table("sources") as batch:
        for column in (
            "websub_error",
            "websub_lease_until",
            "websub_state",
            "websub_topic",
            "hub_url",
            "articles_seen",
            "next_poll_at",
        ):
            batch.drop_column(column)
