"""Insights for the marketing team: one row per conversation, the teaching signals of each
turn, and the editorial decisions on article suggestions.

Every column the dashboard filters or groups on is indexed: the aggregations run in SQL.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "insight_conversations",
        sa.Column("conversation_id", sa.String(255), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False, index=True),
    )
    op.create_table(
        "insight_signals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(200), nullable=True),
        sa.Column("article_id", sa.String(200), nullable=True),
        sa.Column("heading", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
    )
    op.create_index("ix_insight_signals_kind_created", "insight_signals", ["kind", "created_at"])
    op.create_index("ix_insight_signals_article_kind", "insight_signals", ["article_id", "kind"])
    op.create_index("ix_content_gaps_created_at", "content_gaps", ["created_at"])
    op.create_index("ix_leads_created_at", "leads", ["created_at"])
    op.create_table(
        "content_suggestions",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("content_suggestions")
    op.drop_index("ix_leads_created_at", "leads")
    op.drop_index("ix_content_gaps_created_at", "content_gaps")
    op.drop_table("insight_signals")
    op.drop_table("insight_conversations")
