"""What visitors teach the marketing team: questions nobody answered, articles that helped or not."""

from bot.insights.records import (
    feedback_by_article,
    feedback_in_conversation,
    recent_content_gaps,
    record_article_feedback,
    record_content_gap,
)

__all__ = [
    "feedback_by_article",
    "feedback_in_conversation",
    "record_article_feedback",
    "record_content_gap",
    "recent_content_gaps",
]
