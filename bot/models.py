"""Lantern's application tables. Schema changes go through `bot/migrations`.

No table is named `events`: that name belongs to Rasa's SQL tracker store.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, LargeBinary, String, Text
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
    created_at = Column(DateTime(timezone=True), nullable=False)


class ArticleFeedback(Base):
    """Whether an article helped the visitor it was shown to."""

    __tablename__ = "article_feedback"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    article_id = Column(String(200), nullable=False, index=True)
    helpful = Column(Boolean, nullable=False)
    comment = Column(Text, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False)


class Lead(Base):
    """A visitor who asked to buy and agreed to be contacted, with everything a rep needs."""

    __tablename__ = "leads"

    id = Column(Integer, primary_key=True, autoincrement=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
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
