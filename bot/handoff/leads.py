"""Creating a lead: the lead row and its pending notifications commit in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import select

from bot.db import session_scope
from bot.handoff.brief import Contact, LeadBrief, slack_blocks, webhook_payload
from bot.models import Lead, OutboxNotification
from bot.security.signing import transcript_token
from bot.settings import Settings

SLACK = "slack"
WEBHOOK = "webhook"


@dataclass(frozen=True)
class Announcement:
    """How a new lead is announced: the configured targets and the link to its transcript."""

    targets: tuple[str, ...]
    transcript_url_template: str
    rasa_url: str
    signing_key: bytes = b""
    transcript_link_hours: int = 72

    @classmethod
    def from_settings(cls, settings: Settings) -> "Announcement":
        key = settings.signing_key if (settings.secret_key or settings.api_token) else b""
        return cls(tuple(notification_targets(settings)), settings.transcript_url_template, settings.rasa_url,
                   key, settings.transcript_link_hours)

    def transcript_url(self, conversation_id: str, now: Optional[datetime] = None) -> str:
        """The rep's link: its own signed token, valid `transcript_link_hours`, not the visitor's id.

        `{conversation_id}` still works in LANTERN_TRANSCRIPT_URL for a custom viewer that
        checks access itself."""
        expires = (now or datetime.now(timezone.utc)) + timedelta(hours=self.transcript_link_hours)
        token = transcript_token(self.signing_key, conversation_id, expires) if self.signing_key else ""
        return self.transcript_url_template.format(
            rasa_url=self.rasa_url, conversation_id=conversation_id, token=token
        )


def notification_targets(settings: Settings) -> list[str]:
    """Targets that are configured; an unconfigured one is simply not used."""
    targets = []
    if settings.slack_webhook_url:
        targets.append(SLACK)
    if settings.crm_webhook_url:
        targets.append(WEBHOOK)
    return targets


def create_lead(
    db_url: str,
    announcement: Announcement,
    conversation_id: str,
    channel: str,
    contact: Contact,
    brief: LeadBrief,
    intent_level: str,
    consent_at: Optional[datetime] = None,
    now: Optional[datetime] = None,
) -> int:
    """Store the lead and one pending notification per configured target, atomically."""
    now = now or datetime.now(timezone.utc)
    transcript_url = announcement.transcript_url(conversation_id)
    with session_scope(db_url) as session:
        lead = Lead(
            created_at=now,
            conversation_id=conversation_id,
            channel=channel,
            name=contact.name,
            email=contact.email,
            company=contact.company,
            follow_up=contact.follow_up,
            consent_contact=True,
            consent_storage=True,
            consent_at=consent_at or now,
            intent_level=intent_level,
            intent_evidence=brief.intent_evidence,
            brief=brief.as_dict(),
        )
        session.add(lead)
        session.flush()  # assigns lead.id inside the transaction
        for target in announcement.targets:
            payload = (
                slack_blocks(lead.id, contact, brief, transcript_url)
                if target == SLACK
                else webhook_payload(lead.id, now.isoformat(), conversation_id, channel, contact, brief,
                                     intent_level, transcript_url)
            )
            session.add(
                OutboxNotification(
                    lead_id=lead.id,
                    target=target,
                    idempotency_key=str(uuid.uuid4()),
                    payload=payload,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        lead_id: int = lead.id
        return lead_id


def list_leads(db_url: str, limit: int = 50) -> list[tuple[Lead, list[OutboxNotification]]]:
    with session_scope(db_url) as session:
        leads = session.execute(select(Lead).order_by(Lead.id.desc()).limit(limit)).scalars().all()
        notes = session.execute(
            select(OutboxNotification).where(OutboxNotification.lead_id.in_([lead.id for lead in leads]))
        ).scalars().all()
    by_lead: dict[int, list[OutboxNotification]] = {}
    for note in notes:
        by_lead.setdefault(note.lead_id, []).append(note)
    return [(lead, by_lead.get(lead.id, [])) for lead in leads]


def get_lead(db_url: str, lead_id: int) -> Optional[tuple[Lead, list[OutboxNotification]]]:
    with session_scope(db_url) as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            return None
        notes = session.execute(
            select(OutboxNotification).where(OutboxNotification.lead_id == lead_id)
        ).scalars().all()
    return lead, list(notes)
