"""The names of the slots the actions read and set, as declared in domain.yml.

tests/actions/test_slots.py checks that these and domain.yml's slots are the same set.
"""

from __future__ import annotations

from typing import Final

# Discovery: the visitor's problem, in their words.
PROBLEM: Final = "problem"
SYMPTOMS: Final = "symptoms"
IMPACT: Final = "impact"
TRIED: Final = "tried"
TEACH_AFTER_DISCOVERY: Final = "teach_after_discovery"
# Set when a message NLU took for a sales request is a problem told in sales words: the
# rules then start discovery for it.
PROBLEM_DESCRIBED: Final = "problem_described"

# Teaching: what was shown, and where "tell me more" goes next.
SHOWN_ARTICLES: Final = "shown_articles"
CURRENT_ARTICLE: Final = "current_article"
CURRENT_HEADING: Final = "current_heading"
OPENED_HEADING: Final = "opened_heading"
LAST_QUERY: Final = "last_query"

# The handoff offer and the lead form.
INTENT_LEVEL: Final = "intent_level"
INTENT_EVIDENCE: Final = "intent_evidence"
HANDOFF_ACCEPTED: Final = "handoff_accepted"
HANDOFF_DECLINED: Final = "handoff_declined"
LEAD_CANCELLED: Final = "lead_cancelled"
LEAD_NAME: Final = "lead_name"
LEAD_EMAIL: Final = "lead_email"
LEAD_COMPANY: Final = "lead_company"
LEAD_FOLLOW_UP: Final = "lead_follow_up"
LEAD_CONSENT: Final = "lead_consent"
LEAD_CONSENT_AT: Final = "lead_consent_at"
LEAD_ID: Final = "lead_id"
# The live handoff this conversation is in (bot/handoff/live.py), set when "Chat now" reached Slack.
LIVE_HANDOFF_ID: Final = "live_handoff_id"

DISCOVERY_SLOTS: Final = (SYMPTOMS, IMPACT, TRIED)  # asked in this order by discovery_form
LEAD_SLOTS: Final = (LEAD_NAME, LEAD_EMAIL, LEAD_COMPANY, LEAD_FOLLOW_UP, LEAD_CONSENT)  # lead_form's order
