"""The handoff offer: buying intent judged on the latest message in its context, and the one
place that offers a rep.

The judgement itself is `bot.conversation.buying_intent` (no Rasa); this module only reads
the tracker into a `DialogueContext` and says what the bot answers when the visitor wants
something the company doesn't sell.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.actions import slots
from bot.actions.common import latest_text
from bot.conversation.buying_intent import BotPrompt, DialogueContext, IntentAssessment, Offerings
from bot.conversation.intent_model import served_model
from bot.knowledge.embeddings import shared_encoder
from bot.knowledge.index_store import IndexNotBuilt, load_live_index
from bot.knowledge.search import IntentLevel, PassageIndex
from bot.settings import Settings

logger = logging.getLogger(__name__)
OFFER = "utter_offer_handoff"
FEEDBACK_QUESTION = "utter_ask_feedback"
# The question a form is waiting for an answer to, by the slot it requested.
_REQUESTED = {
    slots.SYMPTOMS: BotPrompt.ASK_SYMPTOMS,
    slots.IMPACT: BotPrompt.ASK_IMPACT,
    slots.TRIED: BotPrompt.ASK_TRIED,
    slots.LEAD_NAME: BotPrompt.LEAD_NAME,
    slots.LEAD_EMAIL: BotPrompt.LEAD_EMAIL,
    slots.LEAD_COMPANY: BotPrompt.LEAD_COMPANY,
    slots.LEAD_FOLLOW_UP: BotPrompt.LEAD_FOLLOW_UP,
    slots.LEAD_CONSENT: BotPrompt.LEAD_CONSENT,
}
# Outside a form: what the bot's last response asked.
_LAST_RESPONSE = {
    "utter_greet": BotPrompt.GREETING,
    "utter_what_problem": BotPrompt.GREETING,
    FEEDBACK_QUESTION: BotPrompt.SHOWED_ARTICLES,
    OFFER: BotPrompt.OFFER,
}


def last_bot_response(tracker: Tracker) -> Optional[str]:
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action")
    return None


def dialogue_context(tracker: Tracker) -> DialogueContext:
    """What the bot had just asked, and whether the visitor already declined an offer."""
    requested = tracker.get_slot("requested_slot") if tracker.active_loop_name else None
    if requested in _REQUESTED:
        prompt = _REQUESTED[requested]
    else:
        last = last_bot_response(tracker)
        prompt = BotPrompt.GREETING if last is None else _LAST_RESPONSE.get(last, BotPrompt.ANSWERED)
    return DialogueContext(prompt, bool(tracker.get_slot(slots.HANDOFF_DECLINED)))


@lru_cache(maxsize=4)
def _offerings(index: PassageIndex) -> Offerings:
    return Offerings.from_index(index)  # the live index object changes when the KB is re-indexed


def assess(tracker: Tracker, settings: Settings) -> IntentAssessment:
    """Buying intent of the latest message; never raises (no judgement means no offer)."""
    try:
        index = load_live_index(settings.db_url)
        model = served_model(settings.models_dir)
        return model.assess(latest_text(tracker), dialogue_context(tracker), shared_encoder(), _offerings(index))
    except (IndexNotBuilt, SQLAlchemyError, OSError, ValueError):
        logger.exception("buying intent could not be judged; no offer is made")
        return IntentAssessment(IntentLevel.NONE, None, 0.0, "judgement unavailable", judged=False)


def offer_handoff(dispatcher: CollectingDispatcher, tracker: Tracker, assessment: IntentAssessment) -> Dict[Text, Any]:
    """Offer a rep (the only place that does), unless this visitor is already a lead."""
    if tracker.get_slot(slots.LEAD_ID):
        dispatcher.utter_message(response="utter_already_a_lead")
        return {}
    dispatcher.utter_message(response=OFFER)
    return {slots.INTENT_LEVEL: assessment.level.value, slots.INTENT_EVIDENCE: assessment.evidence}


def say_what_we_do(dispatcher: CollectingDispatcher, settings: Settings) -> None:
    """For a visitor who wants to buy something the company doesn't sell: what it does, no offer."""
    try:
        topics = list(load_live_index(settings.db_url).topics.values())
    except (IndexNotBuilt, SQLAlchemyError):
        topics = []
    if len(topics) > 1:
        listed = ", ".join(t.lower() for t in topics[:-1]) + " and " + topics[-1].lower()
        dispatcher.utter_message(response="utter_not_what_we_do", topics=listed)
    else:
        dispatcher.utter_message(response="utter_out_of_scope")
