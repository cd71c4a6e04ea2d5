"""Small helpers the action modules share: reading the tracker, showing a passage."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import slots
from bot.conversation.teaching import Passage


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


# Form answers are free text that no intent describes ("a call", "about 3 likes a post"),
# so NLU's weak guesses at them must not be read as "skip", "stop" or "goodbye": below this
# confidence the message is taken as an answer. Real control replies score above 0.8.
CONTROL_INTENT_MIN_CONFIDENCE = 0.6


def latest_intent_confidence(tracker: Tracker) -> float:
    return float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0)


def latest_text(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("text") or "").strip()


def shown_articles(tracker: Tracker) -> List[str]:
    return list(tracker.get_slot(slots.SHOWN_ARTICLES) or [])


def show_passage(
    dispatcher: CollectingDispatcher,
    passage: Passage,
    shown: List[str],
    response: str = "utter_article",
) -> Dict[Text, Any]:
    """Utter a passage; returns the slot values that record it as shown."""
    dispatcher.utter_message(
        response=response,
        title=passage.title,
        heading=passage.heading,
        excerpt=passage.excerpt,
        why_it_matters=passage.why_it_matters,
        url=passage.url,
    )
    if passage.article_id not in shown:
        shown.append(passage.article_id)
    values = {slots.SHOWN_ARTICLES: shown, slots.CURRENT_ARTICLE: passage.article_id, slots.CURRENT_HEADING: passage.heading}
    if response == "utter_article":
        values[slots.OPENED_HEADING] = passage.heading  # where "tell me more" stops after wrapping
    return values
