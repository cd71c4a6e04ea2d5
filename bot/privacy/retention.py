"""Retention: conversations without a lead are deleted after LANTERN_RETENTION_DAYS (default
30) of silence; leads are anonymised LANTERN_LEAD_RETENTION_DAYS (default 365) after they
were made. The delivery worker runs this once an hour (`lantern privacy retention` by hand).

Insight signals (what visitors said, shown on the dashboard) older than the retention period
are deleted too, except those of a lead's conversation, which go with it when the lead is
anonymised. What the dashboard counts stays: each expired conversation's summary row (its
day, channel, topic and the steps it reached; no text) is kept under an id that names no one,
and the per-day section counts name no conversation at all (`bot.insights.signals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import select, text, update

from bot.db import get_engine, session_scope
from bot.insights.signals import expire_insights, expire_old_signals, quiet_conversations
from bot.models import Lead, OutboxNotification
from bot.privacy.forget import TRACKER_TABLE, Removed, _audit, _expanding, _has_tracker_table, remove_conversations
from bot.settings import Settings

ANONYMISED = "(removed after the retention period)"
_CHUNK = 500  # ids per IN list


@dataclass(frozen=True)
class RetentionReport:
    conversations_deleted: int
    leads_anonymised: int
    insight_signals_deleted: int = 0
    insight_rows_anonymised: int = 0


def run_retention(settings: Settings, now: Optional[datetime] = None) -> RetentionReport:
    now = now or datetime.now(timezone.utc)
    conversation_cutoff = now - timedelta(days=settings.retention_days)
    lead_cutoff = now - timedelta(days=settings.lead_retention_days)
    with session_scope(settings.db_url) as session:
        with_lead = set(session.execute(select(Lead.conversation_id)).scalars())
    stale: list[str] = []
    if _has_tracker_table(settings.tracker_db_url):
        with get_engine(settings.tracker_db_url).connect() as connection:
            rows = connection.execute(
                text(f"SELECT sender_id FROM {TRACKER_TABLE} GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"),
                {"cutoff": conversation_cutoff.timestamp()},
            )
            stale = [row[0] for row in rows if row[0] not in with_lead]
    removed = remove_conversations(settings, stale, keep_insight_counts=True) if stale else Removed()
    with session_scope(settings.db_url) as session:
        old = list(session.execute(
            select(Lead).where(Lead.created_at < lead_cutoff, Lead.email != "")
        ).scalars())
        for lead in old:
            lead.name, lead.email, lead.company = ANONYMISED, "", None
            lead.intent_evidence, lead.brief = "", {}
        if old:
            session.execute(
                update(OutboxNotification).where(OutboxNotification.lead_id.in_([lead.id for lead in old]))
                .values(payload={})
            )
    old_conversations = [lead.conversation_id for lead in old]
    if old_conversations:
        gone = remove_conversations(settings, old_conversations, with_leads=False, keep_insight_counts=True)
        removed.tracker_events += gone.tracker_events
        removed.conversations += gone.conversations
        removed.insight_signals += gone.insight_signals
        removed.insight_rows_anonymised += gone.insight_rows_anonymised
    removed.insight_signals += _expire_leftover_insights(settings, conversation_cutoff, removed)
    report = RetentionReport(len(stale), len(old), removed.insight_signals, removed.insight_rows_anonymised)
    if stale or old or removed.insight_signals or removed.insight_rows_anonymised:
        removed.crm_notice = "not needed"
        removed.lead_ids = []
        _audit(settings, "retention", "worker", removed, now)
    return report


def _expire_leftover_insights(settings: Settings, cutoff: datetime, removed: Removed) -> int:
    """Signals older than the period whatever their conversation (a long conversation's early
    turns; conversations whose tracker events went before insights were expired), and summary
    rows of quiet conversations the tracker no longer holds. Returns the signals deleted."""
    with session_scope(settings.db_url) as session:
        quiet = quiet_conversations(session, cutoff)
    if quiet and _has_tracker_table(settings.tracker_db_url):
        held: set[str] = set()
        with get_engine(settings.tracker_db_url).connect() as connection:
            for start in range(0, len(quiet), _CHUNK):
                held.update(connection.execute(
                    text(f"SELECT DISTINCT sender_id FROM {TRACKER_TABLE} WHERE sender_id IN :ids").bindparams(
                        _expanding()), {"ids": quiet[start:start + _CHUNK]},
                ).scalars())
        quiet = [cid for cid in quiet if cid not in held]
    with session_scope(settings.db_url) as session:
        still_quiet = set(quiet_conversations(session, cutoff))  # no turn came in since
        quiet = [cid for cid in quiet if cid in still_quiet]
        deleted = 0
        for start in range(0, len(quiet), _CHUNK):
            expired = expire_insights(session, quiet[start:start + _CHUNK])
            deleted += expired.signals
            removed.insight_rows_anonymised += expired.anonymised
        return deleted + expire_old_signals(session, cutoff)
