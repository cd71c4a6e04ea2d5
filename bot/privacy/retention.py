"""Retention: conversations without a lead are deleted after LANTERN_RETENTION_DAYS (default
30) of silence; leads are anonymised LANTERN_LEAD_RETENTION_DAYS (default 365) after they
were made. The delivery worker runs this once an hour (`lantern privacy retention` by hand).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import select, text, update

from bot.db import get_engine, session_scope
from bot.models import Lead, OutboxNotification
from bot.privacy.forget import TRACKER_TABLE, Removed, _audit, _has_tracker_table, remove_conversations
from bot.settings import Settings

ANONYMISED = "(removed after the retention period)"


@dataclass(frozen=True)
class RetentionReport:
    conversations_deleted: int
    leads_anonymised: int


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
    removed = remove_conversations(settings, stale) if stale else Removed()
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
        gone = remove_conversations(settings, old_conversations, with_leads=False)
        removed.tracker_events += gone.tracker_events
        removed.conversations += gone.conversations
    report = RetentionReport(len(stale), len(old))
    if stale or old:
        removed.crm_notice = "not needed"
        removed.lead_ids = []
        _audit(settings, "retention", "worker", removed, now)
    return report
