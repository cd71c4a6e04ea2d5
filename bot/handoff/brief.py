"""The rep's brief: everything the visitor already said, so nobody asks them twice."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from bot.privacy.redact import redact


@dataclass(frozen=True)
class ArticleRead:
    id: str
    title: str
    url: str
    helped: Optional[bool] = None  # None: the visitor didn't say


@dataclass(frozen=True)
class LeadBrief:
    problem: Optional[str]
    symptoms: Optional[str]
    why_it_matters_to_them: Optional[str]
    already_tried: Optional[str]
    articles_read: list[ArticleRead] = field(default_factory=list)
    intent_evidence: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    company: Optional[str]
    follow_up: str  # "email", "call" or "chat now"


def slack_blocks(lead_id: int, contact: Contact, brief: LeadBrief, transcript_url: str) -> dict[str, Any]:
    """A Slack message (Block Kit) for the sales channel.

    The visitor's free text is redacted (emails, phones, card-like numbers): the lead's
    own contact fields are the only personal data a Slack channel receives."""

    def line(label: str, value: Optional[str]) -> str:
        return f"*{label}:* {redact(value) if value else '_not said_'}"

    articles = "\n".join(
        f"• <{a.url}|{a.title}>" + {True: " (helped)", False: " (didn't help)", None: ""}[a.helped]
        for a in brief.articles_read
    ) or "_none yet_"
    company = f", {contact.company}" if contact.company else ""
    who = f"{contact.name} <mailto:{contact.email}|{contact.email}>{company}"
    return {
        "text": f"New lead #{lead_id}: {contact.name} ({contact.email}{company}) asks for follow-up by {contact.follow_up}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"New lead #{lead_id}: {contact.name}"}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": f"*Contact:*\n{who}"},
                {"type": "mrkdwn", "text": f"*Follow up by:*\n{contact.follow_up}"},
            ]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join([
                line("What made it clear", f"“{brief.intent_evidence}”"),
                line("Their problem", brief.problem),
                line("What they see", brief.symptoms),
                line("Why it matters to them", brief.why_it_matters_to_them),
                line("Already tried", brief.already_tried),
            ])}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Articles read:*\n{articles}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{transcript_url}|Full transcript>"}]},
        ],
    }


def webhook_payload(lead_id: int, created_at: str, conversation_id: str, channel: str, contact: Contact,
                    brief: LeadBrief, intent_level: str, transcript_url: str) -> dict[str, Any]:
    """The generic JSON document a CRM receives."""
    return {
        "type": "lead.created",
        "lead_id": lead_id,
        "created_at": created_at,
        "conversation_id": conversation_id,
        "channel": channel,
        "contact": asdict(contact),
        "intent": {"level": intent_level, "evidence": brief.intent_evidence},
        "brief": brief.as_dict(),
        "transcript_url": transcript_url,
    }
