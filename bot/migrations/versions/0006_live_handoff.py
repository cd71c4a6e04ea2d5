"""Live handoff: who has each conversation (the bot, nobody yet, a rep), and every change of hands.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_handoffs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
        sa.Column("visitor_channel", sa.String(64), nullable=False),
        sa.Column("lead_id", sa.Integer, nullable=True),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("rep_id", sa.String(64), nullable=True),
        sa.Column("rep_name", sa.Text, nullable=True),
        sa.Column("slack_channel", sa.String(64), nullable=True),
        sa.Column("slack_ts", sa.String(64), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(20), nullable=True),
        sa.Index("ix_live_handoffs_thread", "slack_channel", "slack_ts"),
    )
    op.create_table(
        "live_handoff_transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("handoff_id", sa.Integer, sa.ForeignKey("live_handoffs.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("from_state", sa.String(20), nullable=False),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("live_handoff_transitions")
    op.drop_table("live_handoffs")
