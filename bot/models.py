"""Lantern's application tables. Schema changes go through `bot/migrations`.

No table is named `events`: that name belongs to Rasa's SQL tracker store.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import declarative_base

Base: Any = declarative_base()


class KbIndexState(Base):
    """One row: a summary of the live knowledge-base index, bumped on every rebuild."""

    __tablename__ = "kb_index_state"

    id = Column(Integer, primary_key=True, default=1)
    generation = Column(Integer, nullable=False)
    built_at = Column(DateTime(timezone=True), nullable=False)
    kb_dir = Column(Text, nullable=False)
    company = Column(Text, nullable=True)
    article_count = Column(Integer, nullable=False)
    passage_count = Column(Integer, nullable=False)
    checksum = Column(String(64), nullable=False)
    synonyms = Column(JSON, nullable=False, default=dict)
    topics = Column(JSON, nullable=False, default=dict)


class KbArticle(Base):
    __tablename__ = "kb_articles"

    id = Column(String(200), primary_key=True)
    title = Column(Text, nullable=False)
    url = Column(Text, nullable=False)
    kind = Column(String(32), nullable=False)
    topics = Column(JSON, nullable=False)
    summary = Column(Text, nullable=False)
    why_it_matters = Column(Text, nullable=False)
    related = Column(JSON, nullable=False)
    asks = Column(JSON, nullable=False)
    source_path = Column(Text, nullable=False)


class KbPassage(Base):
    __tablename__ = "kb_passages"

    id = Column(Integer, primary_key=True, autoincrement=True)
    article_id = Column(
        String(200), ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position = Column(Integer, nullable=False)
    heading = Column(Text, nullable=False)
    text = Column(Text, nullable=False)


class KbVector(Base):
    """The sentence embedding of one indexed text (document or `asks` phrase), filed by
    `SentenceEncoder.vector_key`, so a re-index only encodes texts that changed."""

    __tablename__ = "kb_vectors"

    text_key = Column(String(64), primary_key=True)
    vector = Column(LargeBinary, nullable=False)  # float32, little-endian, unit length


class ContentGap(Base):
    """A visitor question no article answered well: work for the marketing team."""

    __tablename__ = "content_gaps"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    question = Column(Text, nullable=False)
    closest_topic = Column(String(200), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)


class ArticleFeedback(Base):
    """Whether an article helped the visitor it was shown to."""

    __tablename__ = "article_feedback"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    article_id = Column(String(200), nullable=False, index=True)
    helpful = Column(Boolean, nullable=False)
    comment = Column(Text, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)


class Lead(Base):
    """A visitor who asked to buy and agreed to be contacted, with everything a rep needs."""

    __tablename__ = "leads"

    id = Column(Integer, primary_key=True, autoincrement=True)
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(64), nullable=False)
    name = Column(Text, nullable=False)
    email = Column(String(320), nullable=False)
    company = Column(Text, nullable=True)
    follow_up = Column(String(32), nullable=False)
    consent_contact = Column(Boolean, nullable=False)
    consent_storage = Column(Boolean, nullable=False)
    consent_at = Column(DateTime(timezone=True), nullable=False)
    intent_level = Column(String(16), nullable=False)
    intent_evidence = Column(Text, nullable=False)
    brief = Column(JSON, nullable=False)


class OutboxNotification(Base):
    """A notification to a rep channel, committed with its lead and delivered by the worker."""

    __tablename__ = "notification_outbox"

    id = Column(Integer, primary_key=True, autoincrement=True)
    lead_id = Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False, index=True)
    target = Column(String(32), nullable=False)
    idempotency_key = Column(String(64), nullable=False, unique=True)
    payload = Column(JSON, nullable=False)
    status = Column(String(16), nullable=False, default="pending", index=True)  # pending | delivered | failed
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(timezone=True), nullable=False)
    locked_until = Column(DateTime(timezone=True), nullable=True)
    last_error = Column(Text, nullable=True)
    delivered_at = Column(DateTime(timezone=True), nullable=True)
    failed_at = Column(DateTime(timezone=True), nullable=True)  # given up: no more attempts


class SlackEventReceipt(Base):
    """A Slack event already taken in; the primary key makes the first receipt win."""

    __tablename__ = "slack_event_receipts"

    event_id = Column(String(255), primary_key=True)
    received_at = Column(DateTime(timezone=True), nullable=False)


class LiveHandoff(Base):
    """One live handoff of a conversation to a rep, from "Chat now" until the bot has it back.

    The conversation's state is its latest row's `state` (no row: with the bot).
    """

    __tablename__ = "live_handoffs"
    __table_args__ = (Index("ix_live_handoffs_thread", "slack_channel", "slack_ts"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    visitor_channel = Column(String(64), nullable=False)
    lead_id = Column(Integer, nullable=True)
    state = Column(String(20), nullable=False, index=True)
    rep_id = Column(String(64), nullable=True)
    rep_name = Column(Text, nullable=True)
    slack_channel = Column(String(64), nullable=True)
    slack_ts = Column(String(64), nullable=True)
    requested_at = Column(DateTime(timezone=True), nullable=False)
    taken_at = Column(DateTime(timezone=True), nullable=True)
    first_reply_at = Column(DateTime(timezone=True), nullable=True)
    ended_at = Column(DateTime(timezone=True), nullable=True)
    end_reason = Column(String(20), nullable=True)


class LiveHandoffTransition(Base):
    """A change of hands: from which state to which, when, and who made it."""

    __tablename__ = "live_handoff_transitions"

    id = Column(Integer, primary_key=True, autoincrement=True)
    handoff_id = Column(Integer, ForeignKey("live_handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    from_state = Column(String(20), nullable=False)
    to_state = Column(String(20), nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)
    by = Column(Text, nullable=False)
class PrivacyAudit(Base):
    """One privacy action (forget, export, retention): what kind and how much, never whose."""

    __tablename__ = "privacy_audit"

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False)
    action = Column(String(32), nullable=False)
    origin = Column(String(32), nullable=False)
    counts = Column(JSON, nullable=False)
    # Lead ids the CRM must be told were deleted, while that notice is still owed.
    notice_lead_ids = Column(JSON, nullable=True)
    notice_status = Column(String(16), nullable=True)


class SlackPost(Base):
    """A message the app posted to Slack about a conversation, so `forget` can delete it."""

    __tablename__ = "slack_posts"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=True, index=True)
    lead_id = Column(Integer, nullable=True, index=True)
    channel = Column(String(64), nullable=False)
    ts = Column(String(32), nullable=False)
    posted_at = Column(DateTime(timezone=True), nullable=False)
class InsightConversation(Base):
    """A conversation the actions have seen: when it started, where, whether it is demo traffic,
    and what it reached so far (`bot/insights/summaries.py` keeps the flags up to date as its
    signals and feedback are recorded), so the dashboard counts conversations, not signals."""

    __tablename__ = "insight_conversations"

    conversation_id = Column(String(255), primary_key=True)
    started_at = Column(DateTime(timezone=True), nullable=False, index=True)
    started_day = Column(Date, nullable=False, index=True)  # UTC
    channel = Column(String(64), nullable=True)
    is_demo = Column(Boolean, nullable=False, index=True)
    topic = Column(String(200), nullable=True)  # of its first problem or question an article answered
    described_problem = Column(Boolean, nullable=False, server_default=false())  # or asked a question
    answered_discovery = Column(Boolean, nullable=False, server_default=false())
    got_passages = Column(Boolean, nullable=False, server_default=false())
    read_on = Column(Boolean, nullable=False, server_default=false())  # or followed a related problem
    met_gap = Column(Boolean, nullable=False, server_default=false())
    asked_to_buy = Column(Boolean, nullable=False, server_default=false())
    said_helped = Column(Boolean, nullable=False, server_default=false())
    said_not_helped = Column(Boolean, nullable=False, server_default=false())


class InsightPassageDay(Base):
    """How often one section of an article was shown, read on to or reached as a related problem
    on one day (UTC): the teaching page sums these instead of counting signals."""

    __tablename__ = "insight_passage_days"

    day = Column(Date, primary_key=True)
    article_id = Column(String(200), primary_key=True)
    heading = Column(Text, primary_key=True)  # "" when the signal named none
    is_demo = Column(Boolean, primary_key=True)
    shown = Column(Integer, nullable=False, server_default="0")
    read_on = Column(Integer, nullable=False, server_default="0")
    related = Column(Integer, nullable=False, server_default="0")


class InsightSignal(Base):
    """One thing a visitor did that says how the teaching went (`bot/insights/signals.py` lists the kinds)."""

    __tablename__ = "insight_signals"
    __table_args__ = (
        Index("ix_insight_signals_kind_created", "kind", "created_at"),
        Index("ix_insight_signals_article_kind", "article_id", "kind"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    kind = Column(String(32), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    topic = Column(String(200), nullable=True)
    article_id = Column(String(200), nullable=True)
    heading = Column(Text, nullable=True)
    text = Column(Text, nullable=True)


class ContentSuggestion(Base):
    """The marketing team's decision on a suggested article: written or dismissed (open when absent)."""

    __tablename__ = "content_suggestions"

    key = Column(String(64), primary_key=True)
    title = Column(Text, nullable=False)
    status = Column(String(16), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)
