"""Knowledge-base index tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_index_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kb_dir", sa.Text, nullable=False),
        sa.Column("company", sa.Text, nullable=True),
        sa.Column("article_count", sa.Integer, nullable=False),
        sa.Column("passage_count", sa.Integer, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("synonyms", sa.JSON, nullable=False),
        sa.Column("topics", sa.JSON, nullable=False),
    )
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("topics", sa.JSON, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("why_it_matters", sa.Text, nullable=False),
        sa.Column("related", sa.JSON, nullable=False),
        sa.Column("asks", sa.JSON, nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
    )
    op.create_table(
        "kb_passages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "article_id",
            sa.String(200),
            sa.ForeignKey("kb_articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("heading", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_kb_passages_article_id", "kb_passages", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_kb_passages_article_id", "kb_passages")
    op.drop_table("kb_passages")
    op.drop_table("kb_articles")
    op.drop_table("kb_index_state")
