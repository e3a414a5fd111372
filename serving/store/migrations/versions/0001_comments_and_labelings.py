"""comments and labelings

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from serving.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=True),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(200), nullable=True),
        sa.Column("process_step", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    for column in ("agent_id", "team", "created_at"):
        op.create_index(op.f(f"ix_comments_{column}"), "comments", [column])

    op.create_table(
        "labelings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("comment_id", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False),
        sa.Column("label_set_version", sa.String(100), nullable=False),
        sa.Column("sentiment", sa.String(20), nullable=False),
        sa.Column("sentiment_score", sa.Float(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("undecided", sa.JSON(), nullable=False),
        sa.Column("review", sa.Boolean(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=True),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_labelings_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labelings")),
        sa.UniqueConstraint(
            "comment_id",
            "model_version",
            "label_set_version",
            name=op.f("uq_labelings_comment_id"),
        ),
    )
    op.create_index("ix_labelings_current", "labelings", ["comment_id", "current"])


def downgrade() -> None:
    op.drop_table("labelings")
    op.drop_table("comments")
