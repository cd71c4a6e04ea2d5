"""The teaching signals of each conversation, stored as they happen so the dashboard can
aggregate them in SQL: what the visitor said their problem was, which passages they were
shown, how far they read on, which related problems they followed, where no article
answered, and when they asked for a person.

Helped / didn't help stays in `article_feedback` and leads in `leads`; this module adds
what those tables do not hold, and keeps the summary rows the dashboard counts
(`bot.insights.summaries`) in step with the signals. Demo traffic (`lantern demo-traffic`)
uses conversation ids that start with `DEMO_PREFIX`, so it is marked in every table (the
per-day section counts, which name no conversation, carry a demo flag) and removed with one
command.

Signal texts are the visitors' own words, which the dashboard shows: they are stored redacted
(emails, phone and card numbers masked, `bot.privacy.redact`) like content gaps. Forgetting a
conversation deletes its signals and summary row and takes its section counts back out
(`forget_insights`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Optional, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.insights import summaries
from bot.models import ArticleFeedback, ContentGap, InsightConversation, InsightPassageDay, InsightSignal, Lead, OutboxNotification
from bot.privacy.redact import redact

DEMO_PREFIX = "demo-"
MAX_TEXT_CHARS = 2000

# The kinds of signal, in the order a conversation usually meets them.
PROBLEM = "problem"  # described a problem (discovery), text = the problem in their words
QUESTION = "question"  # asked a direct question, text = the question
DISCOVERY = "discovery"  # answered discovery, text = what the problem costs them
SHOWN = "shown"  # a passage shown as an answer (article_id, heading, topic)
READ_ON = "read_on"  # "tell me more" / "why?": a further passage of the same article
RELATED = "related"  # followed a related problem the bot pointed to
GAP = "gap"  # no article answered, text = the question
ASKED_TO_BUY = "asked_to_buy"  # the handoff was offered on clear intent, text = the evidence
LEAD = "lead"  # a lead was created (topic = the conversation's first topic)
KINDS = (PROBLEM, QUESTION, DISCOVERY, SHOWN, READ_ON, RELATED, GAP, ASKED_TO_BUY, LEAD)

# What each kind tells the conversation's summary row (bot/insights/summaries.py) it reached.
FLAG_OF_KIND = {
    PROBLEM: "described_problem", QUESTION: "described_problem", DISCOVERY: "answered_discovery",
    SHOWN: "got_passages", READ_ON: "read_on", RELATED: "read_on", GAP: "met_gap", ASKED_TO_BUY: "asked_to_buy",
}
# Which count of a section's day row each kind adds to.
PASSAGE_COUNT_OF_KIND = {SHOWN: "shown", READ_ON: "read_on", RELATED: "related"}
# The conversation's topic is that of its first problem or question an article answered.
TOPIC_KINDS = (PROBLEM, QUESTION)


@dataclass(frozen=True)
class Signal:
    kind: str
    topic: Optional[str] = None
    article_id: Optional[str] = None
    heading: Optional[str] = None
    text: Optional[str] = None


def is_demo(conversation_id: str) -> bool:
    return conversation_id.startswith(DEMO_PREFIX)


def passage_counts(signals: Sequence[Signal]) -> dict[summaries.PassageKey, Counter[str]]:
    """{(article, heading): {"shown": n, "read_on": n, "related": n}} of the signals that name an article."""
    counts: dict[summaries.PassageKey, Counter[str]] = {}
    for signal in signals:
        if signal.kind in PASSAGE_COUNT_OF_KIND and signal.article_id:
            counts.setdefault((signal.article_id, signal.heading or ""), Counter())[PASSAGE_COUNT_OF_KIND[signal.kind]] += 1
    return counts


def record_signals(
    db_url: str,
    conversation_id: str,
    channel: Optional[str],
    signals: Sequence[Signal],
    now: Optional[datetime] = None,
) -> None:
    """Store the turn's signals and bring the conversation's summary rows up to date, in one
    transaction (the conversation is noted the first time, with no signals too)."""
    now = now or datetime.now(timezone.utc)
    demo = is_demo(conversation_id)
    topic = next((s.topic for s in signals if s.kind in TOPIC_KINDS and s.topic), None)
    with session_scope(db_url) as session:
        summaries.note_conversation(
            session, conversation_id, now, demo, channel=channel, topic=topic,
            flags={FLAG_OF_KIND[s.kind] for s in signals if s.kind in FLAG_OF_KIND},
        )
        summaries.count_passages(session, summaries.utc_day(now), demo, passage_counts(signals))
        session.add_all(
            InsightSignal(
                conversation_id=conversation_id,
                kind=signal.kind,
                created_at=now,
                topic=signal.topic,
                article_id=signal.article_id,
                heading=signal.heading,
                text=redact(signal.text)[:MAX_TEXT_CHARS] if signal.text else None,  # the dashboard shows it
            )
            for signal in signals
        )


@dataclass
class InsightsRemoved:
    """What `forget_insights` did, in rows."""

    signals: int = 0
    conversations: int = 0  # summary rows deleted


def forget_insights(session: Session, conversation_ids: Iterable[str]) -> InsightsRemoved:
    """Delete every insight row of these conversations in the caller's transaction: their
    signals, their summary rows, and their share of the per-day section counts (subtracted,
    so the dashboard counts them nowhere). Rows are taken in `record_signals`' order: the
    conversation's row, then its sections, then its signals."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return InsightsRemoved()
    conversations = session.execute(
        delete(InsightConversation).where(InsightConversation.conversation_id.in_(ids))
    ).rowcount
    passages = session.execute(
        select(InsightSignal.conversation_id, InsightSignal.kind, InsightSignal.created_at, InsightSignal.article_id,
               InsightSignal.heading)
        .where(InsightSignal.conversation_id.in_(ids), InsightSignal.kind.in_(tuple(PASSAGE_COUNT_OF_KIND)),
               InsightSignal.article_id.is_not(None))
    ).all()
    by_day: dict[tuple[date, bool], list[Signal]] = {}
    for conversation_id, kind, created_at, article_id, heading in passages:
        key = (summaries.utc_day(created_at), is_demo(conversation_id))
        by_day.setdefault(key, []).append(Signal(kind, article_id=article_id, heading=heading))
    for (day, demo), found in sorted(by_day.items()):
        summaries.uncount_passages(session, day, demo, passage_counts(found))
    signals = session.execute(delete(InsightSignal).where(InsightSignal.conversation_id.in_(ids))).rowcount
    return InsightsRemoved(signals=signals, conversations=conversations)


def remove_demo_data(db_url: str) -> dict[str, int]:
    """Delete every row of demo traffic from the application tables; counts per table."""
    like = DEMO_PREFIX + "%"
    removed: dict[str, int] = {}
    with session_scope(db_url) as session:
        lead_ids = select(Lead.id).where(Lead.conversation_id.like(like))
        removed["notification_outbox"] = session.execute(
            delete(OutboxNotification).where(OutboxNotification.lead_id.in_(lead_ids)).execution_options(synchronize_session=False)
        ).rowcount
        for model in (Lead, ArticleFeedback, ContentGap, InsightSignal, InsightConversation):
            result = session.execute(
                delete(model).where(model.conversation_id.like(like)).execution_options(synchronize_session=False)
            )
            removed[model.__tablename__] = result.rowcount
        removed[InsightPassageDay.__tablename__] = session.execute(
            delete(InsightPassageDay).where(InsightPassageDay.is_demo.is_(True))
        ).rowcount
    return removed
