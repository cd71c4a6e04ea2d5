"""The teaching signals of each conversation, stored as they happen so the dashboard can
aggregate them in SQL: what the visitor said their problem was, which passages they were
shown, how far they read on, which related problems they followed, where no article
answered, and when they asked for a person.

Helped / didn't help stays in `article_feedback` and leads in `leads`; this module adds
what those tables do not hold. Demo traffic (`lantern demo-traffic`) uses conversation ids
that start with `DEMO_PREFIX`, so it is marked in every table and removed with one command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional, Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.db import session_scope
from bot.models import ArticleFeedback, ContentGap, InsightConversation, InsightSignal, Lead, OutboxNotification

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


@dataclass(frozen=True)
class Signal:
    kind: str
    topic: Optional[str] = None
    article_id: Optional[str] = None
    heading: Optional[str] = None
    text: Optional[str] = None


def is_demo(conversation_id: str) -> bool:
    return conversation_id.startswith(DEMO_PREFIX)


def record_signals(
    db_url: str,
    conversation_id: str,
    channel: Optional[str],
    signals: Sequence[Signal],
    now: Optional[datetime] = None,
) -> None:
    """Note the conversation (first time only) and store the turn's signals."""
    now = now or datetime.now(timezone.utc)
    try:
        with session_scope(db_url) as session:
            if session.get(InsightConversation, conversation_id) is None:
                session.add(
                    InsightConversation(
                        conversation_id=conversation_id, started_at=now, channel=channel, is_demo=is_demo(conversation_id)
                    )
                )
                session.flush()
            for signal in signals:
                session.add(
                    InsightSignal(
                        conversation_id=conversation_id,
                        kind=signal.kind,
                        created_at=now,
                        topic=signal.topic,
                        article_id=signal.article_id,
                        heading=signal.heading,
                        text=signal.text[:MAX_TEXT_CHARS] if signal.text else None,
                    )
                )
    except IntegrityError:
        # Another replica noted the conversation first: store the signals alone.
        with session_scope(db_url) as session:
            for signal in signals:
                session.add(
                    InsightSignal(
                        conversation_id=conversation_id, kind=signal.kind, created_at=now, topic=signal.topic,
                        article_id=signal.article_id, heading=signal.heading,
                        text=signal.text[:MAX_TEXT_CHARS] if signal.text else None,
                    )
                )


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
    return removed
