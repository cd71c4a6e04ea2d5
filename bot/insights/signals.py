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
(`forget_insights`); retention deletes old signals and keeps the conversation's summary row
for the counts under an id that names no one (`expire_insights`, `expire_old_signals`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Optional, Sequence

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.insights import summaries
from bot.models import ArticleFeedback, ContentGap, InsightConversation, InsightPassageDay, InsightSignal, Lead, OutboxNotification
from bot.privacy.redact import redact

DEMO_PREFIX = "demo-"
# A summary row kept after its conversation expired gets a new id: "expired-<random hex>"
# (after DEMO_PREFIX for demo traffic, so `--remove` still finds it).
EXPIRED_PREFIX = "expired-"
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
    """What `forget_insights` / `expire_insights` did, in rows."""

    signals: int = 0
    conversations: int = 0  # summary rows deleted
    anonymised: int = 0  # summary rows kept under an id that names no one
    renamed: dict[str, str] = field(default_factory=dict)  # old conversation id -> that id


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


def anonymous_id(conversation_id: str) -> str:
    """A new id for an expired conversation's summary row: whether it was demo traffic, nothing else."""
    return (DEMO_PREFIX if is_demo(conversation_id) else "") + EXPIRED_PREFIX + uuid.uuid4().hex


def expire_insights(
    session: Session, conversation_ids: Iterable[str], keep_start_time: Collection[str] = ()
) -> InsightsRemoved:
    """Retention, in the caller's transaction: delete these conversations' signals (what the
    visitors said), and keep each summary row (flags, topic, day: no text) so the dashboard's
    counts do not change, under an id that names no one and with its start cut to the day
    (kept to the second for ids in `keep_start_time`: a lead's minutes to handoff need it).
    Section counts name no conversation and stay as they are."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return InsightsRemoved()
    removed = InsightsRemoved()
    rows = session.execute(
        select(InsightConversation.conversation_id, InsightConversation.started_day)
        .where(InsightConversation.conversation_id.in_(ids))
        .order_by(InsightConversation.conversation_id)
    ).all()
    for conversation_id, started_day in rows:
        new_id = anonymous_id(conversation_id)
        values: dict[str, object] = {"conversation_id": new_id}
        if conversation_id not in keep_start_time:
            values["started_at"] = datetime.combine(_as_date(started_day), time.min, tzinfo=timezone.utc)
        session.execute(
            update(InsightConversation).where(InsightConversation.conversation_id == conversation_id).values(values)
        )
        removed.renamed[conversation_id] = new_id
    removed.anonymised = len(rows)
    removed.signals = session.execute(delete(InsightSignal).where(InsightSignal.conversation_id.in_(ids))).rowcount
    return removed


def _as_date(day: object) -> date:
    return day if isinstance(day, date) else date.fromisoformat(str(day))


def expire_old_signals(session: Session, cutoff: datetime) -> int:
    """Retention: delete the signals made before `cutoff`, except a lead's conversation's (they
    go when the lead is anonymised, with the rest of its conversation). Returns how many."""
    of_a_lead = exists().where(Lead.conversation_id == InsightSignal.conversation_id)
    return int(session.execute(
        delete(InsightSignal).where(InsightSignal.created_at < cutoff, ~of_a_lead)
        .execution_options(synchronize_session=False)
    ).rowcount)


def quiet_conversations(session: Session, cutoff: datetime) -> list[str]:
    """Conversations with a summary row, not expired, that started before `cutoff` and have no
    lead and no signal since: retention's candidates when the tracker has no events for them."""
    conversation = InsightConversation
    recent = exists().where(InsightSignal.conversation_id == conversation.conversation_id, InsightSignal.created_at >= cutoff)
    of_a_lead = exists().where(Lead.conversation_id == conversation.conversation_id)
    expired = or_(*[conversation.conversation_id.like(f"{prefix}{EXPIRED_PREFIX}%") for prefix in ("", DEMO_PREFIX)])
    ids = session.execute(
        select(conversation.conversation_id)
        .where(conversation.started_at < cutoff, ~expired, ~recent, ~of_a_lead)
        .order_by(conversation.conversation_id)
    ).scalars()
    return list(ids)


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
