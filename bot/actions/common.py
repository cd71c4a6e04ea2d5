"""Small helpers the action modules share: reading the tracker, showing a passage."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
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


@lru_cache(maxsize=4)
def _button_payloads(domain_file: Path) -> Dict[str, Dict[str, str]]:
    """Per response: each of its buttons' title and payload (lower case) -> the payload."""
    responses = (yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}).get("responses") or {}
    found: Dict[str, Dict[str, str]] = {}
    for name, variants in responses.items():
        for variant in variants or []:
            for button in variant.get("buttons") or []:
                payload = str(button["payload"])
                for said in (button.get("title"), payload):
                    if said:
                        found.setdefault(name, {})[str(said).strip().lower()] = payload
    return found


def button_payload(tracker: Tracker, response: str, domain_file: Path) -> Optional[str]:
    """The payload of the button of `response` the visitor clicked or typed, if the latest
    message is one: a button is always the answer it names, whatever NLU made of it."""
    return _button_payloads(domain_file).get(response, {}).get(latest_text(tracker).lower())


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
