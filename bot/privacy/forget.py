"""Forgetting a person or one conversation, and exporting what is held about a person.

What the consent text promises ("you can ask us to delete it at any time") is done here:
`forget` removes the conversations (Rasa's tracker events), leads with their briefs and
outbox rows, content gaps, article feedback, live handoffs, every insight row (signals, the
conversation's summary row, and its share of the per-day section counts, subtracted) and
the Slack messages the app posted about them; the application's rows go in one transaction.
It tells the CRM which leads were deleted (signed like every CRM notification), and writes
one audit row that says what kind of thing was removed and how much, never whose. Running it
twice is safe: the second run finds nothing, and retries a CRM notice still owed.

No Rasa here: Rasa's tracker table (`events`: sender_id, type_name, timestamp, data) is
read and deleted with plain SQL on the tracker database.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Optional

import requests
from sqlalchemy import delete, inspect, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from bot.db import get_engine, session_scope
from bot.handoff.notifiers import DeliveryError, SignedWebhookNotifier
from bot.insights.signals import anonymous_id, expire_insights, forget_insights
from bot.models import (
    ArticleFeedback,
    ContentGap,
    InsightSignal,
    Lead,
    LiveHandoff,
    LiveHandoffTransition,
    OutboxNotification,
    PrivacyAudit,
    SlackPost,
)
from bot.settings import Settings

logger = logging.getLogger(__name__)
TRACKER_TABLE = "events"  # Rasa's SQL tracker store


@dataclass
class Removed:
    """What one privacy action removed, by kind (counts only)."""

    conversations: int = 0
    tracker_events: int = 0
    leads: int = 0
    outbox_rows: int = 0
    content_gaps: int = 0
    feedback: int = 0
    slack_messages: int = 0
    handoffs: int = 0
    insight_signals: int = 0
    insight_conversations: int = 0  # the dashboard's summary rows, deleted
    insight_rows_anonymised: int = 0  # retention: summary rows kept for the counts, naming no one
    crm_notice: str = "not needed"
    problems: list[str] = field(default_factory=list)
    lead_ids: list[int] = field(default_factory=list)  # for the CRM notice; not personal data

    def counts(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "tracker_events": self.tracker_events,
            "leads": self.leads,
            "outbox_rows": self.outbox_rows,
            "content_gaps": self.content_gaps,
            "feedback": self.feedback,
            "slack_messages": self.slack_messages,
            "handoffs": self.handoffs,
            "insight_signals": self.insight_signals,
            "insight_conversations": self.insight_conversations,
            **({"insight_rows_anonymised": self.insight_rows_anonymised} if self.insight_rows_anonymised else {}),
            "crm_notice": self.crm_notice,
        }

    @property
    def anything(self) -> bool:
        return any(v for k, v in self.counts().items() if k != "crm_notice")

    def lines(self) -> list[str]:
        if not self.anything:
            lines = ["nothing held: nothing to remove"]
        else:
            lines = [f"removed {value} {name.replace('_', ' ')}" for name, value in self.counts().items()
                     if name not in ("crm_notice", "insight_rows_anonymised")]
            if self.insight_rows_anonymised:
                lines.append(f"anonymised {self.insight_rows_anonymised} insight conversation rows")
        lines.append(f"CRM deletion notice: {self.crm_notice}")
        return lines + [f"problem: {p}" for p in self.problems]


def _has_tracker_table(url: str) -> bool:
    return inspect(get_engine(url)).has_table(TRACKER_TABLE)


def conversations_of(settings: Settings, email: str) -> set[str]:
    """Every conversation that holds `email`: its leads' conversations and any tracker mention."""
    needle = email.strip().lower()
    with session_scope(settings.db_url) as session:
        ids = set(session.execute(select(Lead.conversation_id).where(Lead.email.ilike(needle))).scalars())
    if _has_tracker_table(settings.tracker_db_url):
        with get_engine(settings.tracker_db_url).connect() as connection:
            rows = connection.execute(
                text(f"SELECT DISTINCT sender_id FROM {TRACKER_TABLE} WHERE lower(data) LIKE :pattern"),
                {"pattern": f"%{needle.replace('%', '')}%"},
            )
            ids.update(row[0] for row in rows)
    return ids


def forget(
    settings: Settings,
    email: Optional[str] = None,
    conversation_id: Optional[str] = None,
    origin: str = "cli",
    now: Optional[datetime] = None,
) -> Removed:
    """Remove everything about the person with `email`, or about one conversation."""
    if (email is None) == (conversation_id is None):
        raise ValueError("give exactly one of email or conversation_id")
    now = now or datetime.now(timezone.utc)
    conversations = conversations_of(settings, email) if email else {conversation_id or ""}
    removed = remove_conversations(settings, conversations, email=email)
    _settle_notices(settings, removed, now)
    _audit(settings, "forget", origin, removed, now)
    return removed


def remove_conversations(
    settings: Settings, conversations: Iterable[str], email: Optional[str] = None, with_leads: bool = True,
    keep_insight_counts: bool = False,
) -> Removed:
    """Delete these conversations and everything about them (and leads with `email`).

    `with_leads=False` keeps the leads (retention anonymises them instead). Their insight
    signals always go; `keep_insight_counts=True` (retention) keeps what the dashboard counts
    (each conversation's summary row, under an id that names no one, and the section counts)
    where forgetting takes the conversation out of every count."""
    ids = sorted(set(conversations))
    removed = Removed()
    with session_scope(settings.db_url) as session:
        lead_filter = [Lead.conversation_id.in_(ids)]
        if email:
            lead_filter.append(Lead.email.ilike(email.strip().lower()))
        lead_ids = list(session.execute(select(Lead.id).where(or_(*lead_filter))).scalars()) if with_leads else []
        posts = list(
            session.execute(
                select(SlackPost).where(or_(SlackPost.conversation_id.in_(ids), SlackPost.lead_id.in_(lead_ids)))
            ).scalars()
        )
        removed.slack_messages, failed = _delete_slack_posts(settings, posts)
        if failed:
            removed.problems.append(f"{len(failed)} Slack message(s) could not be deleted; run again to retry")
        session.execute(delete(SlackPost).where(SlackPost.id.in_([p.id for p in posts if p.id not in failed])))
        # Live handoffs (bot/handoff/live.py): the brief posted to the sales channel goes from
        # Slack with the records of who had the conversation.
        handoffs = list(session.execute(select(LiveHandoff).where(LiveHandoff.conversation_id.in_(ids))).scalars())
        briefs = [SlackPost(id=-h.id, channel=h.slack_channel, ts=h.slack_ts) for h in handoffs if h.slack_ts]
        deleted_briefs, failed_briefs = _delete_slack_posts(settings, briefs)
        removed.slack_messages += deleted_briefs
        if failed_briefs:
            removed.problems.append(f"{len(failed_briefs)} handoff brief(s) could not be deleted from Slack")
        handoff_ids = [h.id for h in handoffs]
        session.execute(delete(LiveHandoffTransition).where(LiveHandoffTransition.handoff_id.in_(handoff_ids)))
        removed.handoffs = session.execute(delete(LiveHandoff).where(LiveHandoff.id.in_(handoff_ids))).rowcount
        removed.outbox_rows = session.execute(
            delete(OutboxNotification).where(OutboxNotification.lead_id.in_(lead_ids))
        ).rowcount
        removed.leads = session.execute(delete(Lead).where(Lead.id.in_(lead_ids))).rowcount
        removed.content_gaps = session.execute(delete(ContentGap).where(ContentGap.conversation_id.in_(ids))).rowcount
        removed.feedback = session.execute(
            delete(ArticleFeedback).where(ArticleFeedback.conversation_id.in_(ids))
        ).rowcount
        if keep_insight_counts:
            kept_leads = set(session.execute(select(Lead.conversation_id).where(Lead.conversation_id.in_(ids))).scalars())
            insights = expire_insights(session, ids, keep_start_time=kept_leads)
            for old_id in kept_leads:  # the kept lead names no conversation, and still counts in the funnel
                new_id = insights.renamed.get(old_id) or anonymous_id(old_id)
                session.execute(update(Lead).where(Lead.conversation_id == old_id).values(conversation_id=new_id))
        else:
            insights = forget_insights(session, ids)
        removed.insight_signals = insights.signals
        removed.insight_conversations = insights.conversations
        removed.insight_rows_anonymised = insights.anonymised
    removed.crm_notice = "owed" if lead_ids else "not needed"
    removed.lead_ids = lead_ids
    if ids and _has_tracker_table(settings.tracker_db_url):
        with get_engine(settings.tracker_db_url).begin() as connection:
            found = connection.execute(
                text(f"SELECT COUNT(DISTINCT sender_id) FROM {TRACKER_TABLE} WHERE sender_id IN :ids").bindparams(
                    _expanding()
                ),
                {"ids": ids},
            ).scalar_one()
            removed.conversations = int(found)
            removed.tracker_events = connection.execute(
                text(f"DELETE FROM {TRACKER_TABLE} WHERE sender_id IN :ids").bindparams(_expanding()), {"ids": ids}
            ).rowcount
    return removed


def _expanding() -> Any:
    from sqlalchemy import bindparam

    return bindparam("ids", expanding=True)


def _delete_slack_posts(settings: Settings, posts: list[SlackPost]) -> tuple[int, set[int]]:
    """chat.delete each recorded post; returns how many went and the ids of those that stay."""
    if not posts:
        return 0, set()
    if not settings.slack_bot_token:
        return 0, {p.id for p in posts}
    deleted = 0
    failed: set[int] = set()
    for post in posts:
        try:
            response = requests.post(
                settings.slack_api_url.rstrip("/") + "/chat.delete",
                headers={"Authorization": f"Bearer {settings.slack_bot_token}"},
                json={"channel": post.channel, "ts": post.ts},
                timeout=settings.notify_timeout_seconds,
            )
            body = response.json()
            ok = response.ok and (body.get("ok") or body.get("error") == "message_not_found")
        except (requests.RequestException, ValueError):
            ok = False
        if ok:
            deleted += 1
        else:
            failed.add(post.id)
    return deleted, failed


def _settle_notices(settings: Settings, removed: Removed, now: datetime) -> None:
    """Send this run's deletion notice, and any an earlier run still owes."""
    lead_ids = removed.lead_ids
    if not settings.crm_webhook_url:
        removed.crm_notice = "no CRM configured" if lead_ids else removed.crm_notice
        return
    with session_scope(settings.db_url) as session:
        owed = list(session.execute(select(PrivacyAudit).where(PrivacyAudit.notice_status == "owed")).scalars())
        for row in owed:
            if _send_notice(settings, list(row.notice_lead_ids or []), now):
                row.notice_status = "sent"
    if lead_ids:
        removed.crm_notice = "sent" if _send_notice(settings, lead_ids, now) else "owed"


def _send_notice(settings: Settings, lead_ids: list[int], now: datetime) -> bool:
    notifier = SignedWebhookNotifier(settings.crm_webhook_url or "", settings.crm_webhook_secret,
                                     settings.notify_timeout_seconds)
    payload = {"type": "lantern.lead.deleted", "lead_ids": sorted(lead_ids), "deleted_at": now.isoformat()}
    try:
        notifier.send(payload, f"deletion-{'-'.join(map(str, sorted(lead_ids)))}", int(now.timestamp()))
    except DeliveryError as error:
        logger.warning("CRM deletion notice not delivered: %s", error)
        return False
    return True


def _audit(settings: Settings, action: str, origin: str, removed: Removed, now: datetime) -> None:
    counts = removed.counts()
    with session_scope(settings.db_url) as session:
        session.add(
            PrivacyAudit(
                at=now, action=action, origin=origin, counts=counts,
                notice_lead_ids=removed.lead_ids if removed.crm_notice == "owed" else None,
                notice_status="owed" if removed.crm_notice == "owed" else None,
            )
        )
    logger.info("privacy %s (%s): %s", action, origin, json.dumps(counts, sort_keys=True))


def export(settings: Settings, email: str, now: Optional[datetime] = None) -> dict[str, Any]:
    """Everything held about the person with `email`, as JSON-ready data."""
    now = now or datetime.now(timezone.utc)
    conversations = sorted(conversations_of(settings, email))
    with session_scope(settings.db_url) as session:
        leads = list(session.execute(
            select(Lead).where(or_(Lead.email.ilike(email.strip().lower()), Lead.conversation_id.in_(conversations)))
        ).scalars())
        lead_rows = []
        for lead in leads:
            notes = session.execute(select(OutboxNotification).where(OutboxNotification.lead_id == lead.id)).scalars()
            lead_rows.append({
                "id": lead.id, "created_at": lead.created_at.isoformat(), "conversation_id": lead.conversation_id,
                "channel": lead.channel, "name": lead.name, "email": lead.email, "company": lead.company,
                "follow_up": lead.follow_up, "consent_contact": lead.consent_contact,
                "consent_storage": lead.consent_storage, "consent_at": lead.consent_at.isoformat(),
                "brief": lead.brief,
                "notifications": [{"target": n.target, "status": n.status, "payload": n.payload} for n in notes],
            })
        gaps = [{"conversation_id": g.conversation_id, "question": g.question, "created_at": g.created_at.isoformat()}
                for g in session.execute(select(ContentGap).where(ContentGap.conversation_id.in_(conversations))).scalars()]
        feedback = [{"conversation_id": f.conversation_id, "article_id": f.article_id, "helpful": f.helpful,
                     "comment": f.comment, "created_at": f.created_at.isoformat()}
                    for f in session.execute(
                        select(ArticleFeedback).where(ArticleFeedback.conversation_id.in_(conversations))).scalars()]
        signals = [{"conversation_id": s.conversation_id, "kind": s.kind, "topic": s.topic, "article_id": s.article_id,
                    "heading": s.heading, "text": s.text, "created_at": s.created_at.isoformat()}
                   for s in session.execute(
                       select(InsightSignal).where(InsightSignal.conversation_id.in_(conversations))
                       .order_by(InsightSignal.id)).scalars()]
    tracker: dict[str, list[Any]] = {}
    if conversations and _has_tracker_table(settings.tracker_db_url):
        with get_engine(settings.tracker_db_url).connect() as connection:
            for sender_id, data in connection.execute(
                text(f"SELECT sender_id, data FROM {TRACKER_TABLE} WHERE sender_id IN :ids ORDER BY id").bindparams(
                    _expanding()), {"ids": conversations}):
                event = json.loads(data)
                if event.get("event") in ("user", "bot", "slot"):
                    tracker.setdefault(sender_id, []).append(event)
    result = {"email": email, "exported_at": now.isoformat(), "leads": lead_rows, "conversations": tracker,
              "content_gaps": gaps, "article_feedback": feedback, "insight_signals": signals}
    try:
        removed = Removed()
        _audit(settings, "export", "cli", removed, now)
    except SQLAlchemyError:
        logger.exception("privacy export could not be audited")
    return result


def record_slack_post(db_url: str, channel: str, ts: str, conversation_id: Optional[str] = None,
                      lead_id: Optional[int] = None, now: Optional[datetime] = None) -> None:
    """Remember a message the app posted (chat.postMessage's `ts`) so `forget` can delete it."""
    with session_scope(db_url) as session:
        session.add(SlackPost(conversation_id=conversation_id, lead_id=lead_id, channel=channel, ts=ts,
                              posted_at=now or datetime.now(timezone.utc)))

