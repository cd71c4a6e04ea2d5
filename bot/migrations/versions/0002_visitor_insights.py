"""Content gaps and article feedback.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_gaps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("closest_topic", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_content_gaps_conversation_id", "content_gaps", ["conversation_id"])
    op.create_table(
        "article_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("helpful", sa.Boolean, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_article_feedback_conversation_id", "article_feedback", ["conversation_id"])
    op.create_index("ix_article_feedback_article_id", "article_feedback", ["article_id"])


def downgrade() -> None:
    op.drop_table("article_feedback")
    op.drop_table("content_gaps")
