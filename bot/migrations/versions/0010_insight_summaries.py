"""Insight summaries: what each conversation reached, on its own row, and per-day counts of
every article section, so the dashboard aggregates summary rows instead of every signal
(bot/insights/summaries.py keeps them up to date from here on).

The upgrade builds both from the signals and feedback already stored. The signal kinds each
flag stands for are copied here as they are at this revision, so the migration does not
change when the application does.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

DEMO_PREFIX = "demo-"
SIGNAL_FLAGS = {
    "described_problem": ("problem", "question"),
    "answered_discovery": ("discovery",),
    "got_passages": ("shown",),
    "read_on": ("read_on", "related"),
    "met_gap": ("gap",),
    "asked_to_buy": ("asked_to_buy",),
}
FEEDBACK_FLAGS = {"said_helped": True, "said_not_helped": False}
TOPIC_KINDS = ("problem", "question")
PASSAGE_COUNTS = {"shown": "shown", "read_on": "read_on", "related": "related"}  # column: signal kind

conversations = sa.table(
    "insight_conversations", sa.column("conversation_id"), sa.column("started_at"), sa.column("started_day"),
    sa.column("is_demo"), sa.column("topic"), *[sa.column(flag) for flag in (*SIGNAL_FLAGS, *FEEDBACK_FLAGS)],
)
signals = sa.table(
    "insight_signals", sa.column("id"), sa.column("conversation_id"), sa.column("kind"), sa.column("created_at"),
    sa.column("topic"), sa.column("article_id"), sa.column("heading"),
)
feedback = sa.table("article_feedback", sa.column("conversation_id"), sa.column("helpful", sa.Boolean), sa.column("created_at"))
passage_days = sa.table(
    "insight_passage_days", sa.column("day"), sa.column("article_id"), sa.column("heading"), sa.column("is_demo"),
    *[sa.column(name) for name in PASSAGE_COUNTS],
)


def _utc_day(column):
    if op.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def _is_demo(conversation_id):
    return sa.func.substr(conversation_id, 1, len(DEMO_PREFIX)) == DEMO_PREFIX


def _of_conversation(table):
    return table.c.conversation_id == conversations.c.conversation_id


def _backfill_conversations() -> None:
    # A conversation with feedback but no row yet is noted at its first feedback, as from now on.
    unnoted = (
        sa.select(feedback.c.conversation_id, sa.func.min(feedback.c.created_at), _is_demo(feedback.c.conversation_id))
        .where(~sa.exists().where(_of_conversation(feedback)))
        .group_by(feedback.c.conversation_id)
    )
    op.execute(conversations.insert().from_select(["conversation_id", "started_at", "is_demo"], unnoted))
    first_topic = (
        sa.select(signals.c.topic)
        .where(_of_conversation(signals), signals.c.kind.in_(TOPIC_KINDS), signals.c.topic.is_not(None))
        .order_by(signals.c.created_at, signals.c.id)
        .limit(1)
        .scalar_subquery()
    )
    values = {"started_day": _utc_day(conversations.c.started_at), "topic": first_topic}
    for flag, kinds in SIGNAL_FLAGS.items():
        values[flag] = sa.exists().where(_of_conversation(signals), signals.c.kind.in_(kinds))
    for flag, helpful in FEEDBACK_FLAGS.items():
        values[flag] = sa.exists().where(_of_conversation(feedback), feedback.c.helpful.is_(helpful))
    op.execute(conversations.update().values(**values))


def _backfill_passage_days() -> None:
    day = _utc_day(signals.c.created_at)
    heading = sa.func.coalesce(signals.c.heading, "")
    demo = _is_demo(signals.c.conversation_id)
    counts = [sa.func.sum(sa.case((signals.c.kind == kind, 1), else_=0)) for kind in PASSAGE_COUNTS.values()]
    rows = (
        sa.select(day, signals.c.article_id, heading, demo, *counts)
        .where(signals.c.kind.in_(tuple(PASSAGE_COUNTS.values())), signals.c.article_id.is_not(None))
        .group_by(day, signals.c.article_id, heading, demo)
    )
    op.execute(passage_days.insert().from_select(["day", "article_id", "heading", "is_demo", *PASSAGE_COUNTS], rows))


def upgrade() -> None:
    with op.batch_alter_table("insight_conversations") as batch:
        batch.add_column(sa.Column("started_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("topic", sa.String(200), nullable=True))
        for flag in (*SIGNAL_FLAGS, *FEEDBACK_FLAGS):
            batch.add_column(sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "insight_passage_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("article_id", sa.String(200), primary_key=True),
        sa.Column("heading", sa.Text(), primary_key=True),
        sa.Column("is_demo", sa.Boolean(), primary_key=True),
        *[sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in PASSAGE_COUNTS],
    )
    op.create_index("ix_article_feedback_created_at", "article_feedback", ["created_at"])
    _backfill_conversations()
    _backfill_passage_days()
    with op.batch_alter_table("insight_conversations") as batch:
        batch.alter_column("started_day", existing_type=sa.Date(), nullable=False)
    op.create_index("ix_insight_conversations_started_day", "insight_conversations", ["started_day"])
    if op.get_bind().dialect.name == "postgresql":
        # Statistics of the new columns now, not at autovacuum's next visit: without them the
        # planner sorts where it should hash.
        op.execute("ANALYZE insight_conversations")
        op.execute("ANALYZE insight_passage_days")


def downgrade() -> None:
    op.drop_index("ix_insight_conversations_started_day", "insight_conversations")
    op.drop_index("ix_article_feedback_created_at", "article_feedback")
    op.drop_table("insight_passage_days")
    with op.batch_alter_table("insight_conversations") as batch:
        for column in ("started_day", "topic", *SIGNAL_FLAGS, *FEEDBACK_FLAGS):
            batch.drop_column(column)
