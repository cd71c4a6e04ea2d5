"""Data rights: an audit of privacy actions (no personal data) and the Slack messages the app posted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("notice_lead_ids", sa.JSON(), nullable=True),
        sa.Column("notice_status", sa.String(16), nullable=True),
    )
    op.create_table(
        "slack_posts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(255), nullable=True, index=True),
        sa.Column("lead_id", sa.Integer(), nullable=True, index=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_posts")
    op.drop_table("privacy_audit")
