"""What each turn tells the marketing team, read from what the action said and set.

One hook (`LanternAction.run`) instead of a line in every action: the responses an action
utters already say what happened (a passage shown, a further section, a related problem, no
answer, the offer), and the slots it sets say the rest. The domain side is
`bot.insights.signals`.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.actions import slots
from bot.conversation.discovery import SKIPPED
from bot.insights import signals as kinds
from bot.insights.signals import Signal, record_signals
from bot.knowledge.index_store import IndexNotBuilt, load_live_index
from bot.knowledge.search import PassageIndex

logger = logging.getLogger(__name__)
_PASSAGE_RESPONSES = ("utter_article", "utter_more_passage")
_GAP_RESPONSES = ("utter_no_article", "utter_no_article_closest_topic")
ASKING_ACTION = "action_answer_question"  # a direct question: the visitor's words are the latest message


def _by_url(index: PassageIndex) -> Dict[str, tuple[str, Optional[str]]]:
    return {article.url: (article.id, article.topics[0] if article.topics else None) for article in index.articles}


def turn_signals(
    messages: List[Dict[str, Any]],
    tracker: Tracker,
    values: Mapping[str, Any],
    index: Optional[PassageIndex],
    action_name: str = "",
) -> List[Signal]:
    """The signals of one action's responses and slot values."""
    articles = _by_url(index) if index is not None else {}
    found: List[Signal] = []
    first_topic: Optional[str] = None
    related_next = False
    for message in messages:
        response = message.get("response")
        if response == "utter_related_intro":
            related_next = True
        elif response in _PASSAGE_RESPONSES:
            article_id, topic = articles.get(message.get("url") or "", (None, None))
            first_topic = first_topic or topic
            kind = kinds.RELATED if related_next else (kinds.SHOWN if response == "utter_article" else kinds.READ_ON)
            found.append(Signal(kind, topic=topic, article_id=article_id, heading=message.get("heading")))
            related_next = False
        elif response in _GAP_RESPONSES:
            query = values.get(slots.LAST_QUERY) or ((tracker.latest_message or {}).get("text") or "")
            found.append(Signal(kinds.GAP, topic=message.get("topic"), text=query))
        elif response == "utter_offer_handoff":
            found.append(Signal(kinds.ASKED_TO_BUY, text=values.get(slots.INTENT_EVIDENCE)))
        elif response == "utter_lead_created":
            shown = list(tracker.get_slot(slots.SHOWN_ARTICLES) or [])
            article = index.article(shown[0]) if index is not None and shown else None
            topic = article.topics[0] if article is not None and article.topics else None
            found.append(Signal(kinds.LEAD, topic=topic, article_id=article.id if article else None))
        elif response == "utter_reflect":
            problem = tracker.get_slot(slots.PROBLEM)
            impact = tracker.get_slot(slots.IMPACT)
            if problem and problem != SKIPPED:
                found.append(Signal(kinds.PROBLEM, text=str(problem)))
            if impact and impact != SKIPPED:
                found.append(Signal(kinds.DISCOVERY, text=str(impact)))
    text = ((tracker.latest_message or {}).get("text") or "").strip()
    if action_name == ASKING_ACTION and text and any(s.kind in (kinds.SHOWN, kinds.GAP) for s in found):
        found.insert(0, Signal(kinds.QUESTION, text=text))
    if first_topic:  # the problem's topic is where its first answer came from
        found = [Signal(s.kind, first_topic, s.article_id, s.heading, s.text) if s.kind in (kinds.PROBLEM, kinds.QUESTION) else s for s in found]
    return found


def note_turn(action_name: str, db_url: str, dispatcher: CollectingDispatcher, tracker: Tracker, values: Mapping[str, Any]) -> None:
    """Store the turn's signals (and the conversation, the first time); never raises."""
    try:
        try:
            index: Optional[PassageIndex] = load_live_index(db_url)
        except IndexNotBuilt:
            index = None
        found = turn_signals(dispatcher.messages, tracker, values, index, action_name)
        record_signals(db_url, tracker.sender_id, tracker.get_latest_input_channel(), found)
    except (SQLAlchemyError, ValueError, KeyError):
        logger.exception("could not note the turn's insight signals")
