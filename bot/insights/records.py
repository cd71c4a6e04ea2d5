"""Content gaps and article feedback: stored by the actions, read by `lantern` and the lead brief."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import func, select

from bot.db import session_scope
from bot.insights import summaries
from bot.insights.signals import is_demo
from bot.models import ArticleFeedback, ContentGap
from bot.privacy.redact import redact

MAX_STORED_CHARS = 4000


def record_content_gap(db_url: str, conversation_id: str, question: str, closest_topic: Optional[str] = None) -> None:
    with session_scope(db_url) as session:
        session.add(
            ContentGap(
                conversation_id=conversation_id,
                question=redact(question[:MAX_STORED_CHARS]),  # marketers see questions, not people
                closest_topic=closest_topic,
                created_at=datetime.now(timezone.utc),
            )
        )


def record_article_feedback(
    db_url: str, conversation_id: str, article_id: str, helpful: bool, comment: Optional[str] = None,
    now: Optional[datetime] = None,
) -> None:
    """Store the feedback and mark the conversation's summary row helped / not helped, together."""
    now = now or datetime.now(timezone.utc)
    with session_scope(db_url) as session:
        summaries.note_conversation(
            session, conversation_id, now, is_demo(conversation_id), flags={"said_helped" if helpful else "said_not_helped"}
        )
        session.add(
            ArticleFeedback(
                conversation_id=conversation_id,
                article_id=article_id,
                helpful=helpful,
                comment=redact(comment[:MAX_STORED_CHARS]) if comment else None,
                created_at=now,
            )
        )


def recent_content_gaps(db_url: str, limit: int = 50) -> list[ContentGap]:
    with session_scope(db_url) as session:
        query = select(ContentGap).order_by(ContentGap.created_at.desc(), ContentGap.id.desc()).limit(limit)
        return list(session.execute(query).scalars())


def feedback_by_article(db_url: str) -> list[tuple[str, int, int]]:
    """(article id, times it helped, times it didn't), most shown first."""
    with session_scope(db_url) as session:
        rows = session.execute(
            select(ArticleFeedback.article_id, ArticleFeedback.helpful, func.count())
            .group_by(ArticleFeedback.article_id, ArticleFeedback.helpful)
        ).all()
    totals: dict[str, list[int]] = {}
    for article_id, was_helpful, count in rows:
        totals.setdefault(article_id, [0, 0])[0 if was_helpful else 1] += count
    return sorted(((a, h, n) for a, (h, n) in totals.items()), key=lambda r: -(r[1] + r[2]))


def feedback_in_conversation(db_url: str, conversation_id: str) -> dict[str, bool]:
    """Whether each article shown in the conversation helped, by article id (the latest answer wins)."""
    with session_scope(db_url) as session:
        rows = session.execute(
            select(ArticleFeedback.article_id, ArticleFeedback.helpful)
            .where(ArticleFeedback.conversation_id == conversation_id)
            .order_by(ArticleFeedback.id)
        ).all()
    return {article_id: was_helpful for article_id, was_helpful in rows}
