"""The handoff offer: the intent gate on the latest message, and the one place that offers a rep."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import slots
from bot.actions.common import latest_text
from bot.conversation.intent_gate import IntentAssessment, assess_buying_intent

OFFER = "utter_offer_handoff"
FEEDBACK_QUESTION = "utter_ask_feedback"


def visitor_messages(tracker: Tracker) -> List[str]:
    return [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]


def assess(tracker: Tracker) -> IntentAssessment:
    """The intent gate on the latest message, with the visitor's earlier messages as context."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    earlier = visitor_messages(tracker)[:-1]
    return assess_buying_intent(latest_text(tracker), intent.get("name"), float(intent.get("confidence") or 0), earlier)


def offer_handoff(dispatcher: CollectingDispatcher, tracker: Tracker, assessment: IntentAssessment) -> Dict[Text, Any]:
    """Offer a rep (the only place that does), unless this visitor is already a lead."""
    if tracker.get_slot(slots.LEAD_ID):
        dispatcher.utter_message(response="utter_already_a_lead")
        return {}
    dispatcher.utter_message(response=OFFER)
    return {slots.INTENT_LEVEL: assessment.level.value, slots.INTENT_EVIDENCE: assessment.evidence}


def last_bot_response(tracker: Tracker) -> Optional[str]:
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action")
    return None
