"""Teaching: reflect the problem, show the passages that explain it, and follow up."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot import teaching
from bot.actions.common import latest_text, show_passage, shown_articles, slot_events
from bot.actions.offer import assess, offer_handoff
from bot.discovery import DiscoverySummary, restate, search_queries
from bot.insights import record_article_feedback, record_content_gap
from bot.knowledge.index_store import IndexNotBuilt, load_live_index
from bot.knowledge.search import IntentLevel, PassageIndex

logger = logging.getLogger(__name__)
RECOMMENDATIONS = 3


def answer_with_articles(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    query: str,
    k: int = RECOMMENDATIONS,
    queries: Optional[List[str]] = None,
    db_url: Optional[str] = None,
    intent: IntentLevel = IntentLevel.NONE,
    follow_up: bool = True,
) -> Dict[Text, Any]:
    """Show up to `k` articles for the query, or admit there is none and log the gap.

    Returns the slot values to set. Never raises: a search failure gets an apology.
    """
    try:
        index = load_live_index(db_url)
        shown = shown_articles(tracker)
        results = teaching.best_articles(index, queries or [query], k=k, intent=intent, exclude=shown)
        if not results and not follow_up:
            return {"last_query": query}  # a handoff offer follows; no need to apologise
        if not results:
            topic = teaching.closest_topic(index, query)
            try:
                record_content_gap(tracker.sender_id, query, topic, db_url=db_url)
            except SQLAlchemyError:
                logger.exception("could not record a content gap")  # the visitor still gets a reply
            if topic:
                dispatcher.utter_message(response="utter_no_article_closest_topic", topic=topic)
            else:
                dispatcher.utter_message(response="utter_no_article")
            return {"last_query": query}
        values: Dict[Text, Any] = {}
        for result in results:
            values = show_passage(dispatcher, teaching.from_result(result), shown)
        # Follow-ups ("tell me more", "why?") are about the best match, shown first.
        values.update(
            current_article=results[0].id,
            current_heading=results[0].passage_heading,
            opened_heading=results[0].passage_heading,
        )
        if follow_up:
            best = index.article(results[0].id)
            related = teaching.related_article(index, best, shown) if best else None
            if related is not None:
                dispatcher.utter_message(response="utter_related_pain", title=related.title)
            dispatcher.utter_message(response="utter_ask_feedback")
        return {**values, "last_query": query}
    except (IndexNotBuilt, SQLAlchemyError):
        logger.exception("knowledge-base search failed")
        dispatcher.utter_message(response="utter_search_unavailable")
        return {}


class ActionReflectAndTeach(Action):
    """After discovery: restate the problem in the visitor's words, then teach."""

    def __init__(self, db_url: Optional[str] = None) -> None:
        self._db_url = db_url

    def name(self) -> Text:
        return "action_reflect_and_teach"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        if tracker.get_slot("teach_after_discovery") is False:
            return slot_events({"teach_after_discovery": True})
        summary = DiscoverySummary.from_answers(
            tracker.get_slot("problem") or latest_text(tracker),
            tracker.get_slot("symptoms"),
            tracker.get_slot("impact"),
            tracker.get_slot("tried"),
        )
        dispatcher.utter_message(response="utter_reflect", restatement=restate(summary))
        values = answer_with_articles(
            dispatcher, tracker, summary.problem, queries=search_queries(summary), db_url=self._db_url
        )
        return slot_events(values)


class ActionAnswerQuestion(Action):
    """A direct question gets an answer at once: discovery never blocks help.

    Buying signals are assessed here too: a clear one gets the answer and, in the same
    reply, the handoff offer; interest gets an honest answer that may use a service page.
    """

    def __init__(self, db_url: Optional[str] = None) -> None:
        self._db_url = db_url

    def name(self) -> Text:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        assessment = assess(tracker)
        if assessment.is_clear:
            values = answer_with_articles(
                dispatcher, tracker, latest_text(tracker), k=1, db_url=self._db_url,
                intent=IntentLevel.CLEAR, follow_up=False,
            )
            return slot_events({**values, **offer_handoff(dispatcher, tracker, assessment)})
        values = answer_with_articles(
            dispatcher, tracker, latest_text(tracker), k=1, db_url=self._db_url, intent=assessment.level
        )
        return slot_events(values)


class _FollowUp(Action, ABC):
    """Base of the follow-ups that work on the article shown last (abstract: not registered)."""

    def __init__(self, db_url: Optional[str] = None) -> None:
        self._db_url = db_url

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        try:
            index = load_live_index(self._db_url)
            article = index.article(tracker.get_slot("current_article") or "")
            if article is None:
                dispatcher.utter_message(response="utter_nothing_shown_yet")
                return []
            return slot_events(self.follow_up(dispatcher, tracker, index, article))
        except (IndexNotBuilt, SQLAlchemyError):
            logger.exception("knowledge-base index unavailable")
            dispatcher.utter_message(response="utter_search_unavailable")
            return []

    @abstractmethod
    def follow_up(self, dispatcher, tracker, index: PassageIndex, article) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        """Utter the follow-up; return the slot values to set."""


class ActionTellMore(_FollowUp):
    """"Tell me more": the next section of the article being discussed."""

    def name(self) -> Text:
        return "action_tell_more"

    def follow_up(self, dispatcher, tracker, index, article):  # type: ignore[no-untyped-def]
        section = teaching.next_section(
            article, tracker.get_slot("current_heading"), tracker.get_slot("opened_heading")
        )
        if section is None:
            dispatcher.utter_message(response="utter_article_finished", title=article.title, url=article.url)
            return {}
        passage = teaching.passage_of(article, *section)
        return show_passage(dispatcher, passage, shown_articles(tracker), response="utter_more_passage")


class ActionExplainWhy(_FollowUp):
    """"Why?": what the problem costs, from the article's own words."""

    def name(self) -> Text:
        return "action_explain_why"

    def follow_up(self, dispatcher, tracker, index, article):  # type: ignore[no-untyped-def]
        section = teaching.why_section(article)
        if section is None or section[0] == tracker.get_slot("current_heading"):
            dispatcher.utter_message(response="utter_why_it_matters", why_it_matters=article.why_it_matters)
            return {}
        passage = teaching.passage_of(article, *section)
        return show_passage(dispatcher, passage, shown_articles(tracker), response="utter_more_passage")


class ActionWhatElse(_FollowUp):
    """"What else?": a related problem that often comes with this one, else the next-best article."""

    def name(self) -> Text:
        return "action_what_else"

    def follow_up(self, dispatcher, tracker, index, article):  # type: ignore[no-untyped-def]
        shown = shown_articles(tracker)
        related = teaching.related_article(index, article, shown)
        if related is not None and related.sections:
            dispatcher.utter_message(response="utter_related_intro")
            heading, text = related.sections[0]
            return show_passage(dispatcher, teaching.passage_of(related, heading, text), shown)
        return _next_best(dispatcher, tracker, index, shown)


class ActionNextBest(_FollowUp):
    """"That didn't help": note it, then a different article (never the same one) or a clarifying question."""

    def name(self) -> Text:
        return "action_next_best"

    def follow_up(self, dispatcher, tracker, index, article):  # type: ignore[no-untyped-def]
        record_article_feedback(
            tracker.sender_id, article.id, helpful=False, comment=latest_text(tracker), db_url=self._db_url
        )
        return _next_best(dispatcher, tracker, index, shown_articles(tracker))


def _next_best(
    dispatcher: CollectingDispatcher, tracker: Tracker, index: PassageIndex, shown: List[str]
) -> Dict[Text, Any]:
    query = tracker.get_slot("last_query") or tracker.get_slot("problem") or ""
    results = teaching.best_articles(index, [query], k=1, exclude=shown) if query else []
    if not results:
        dispatcher.utter_message(response="utter_ask_clarify")
        return {}
    dispatcher.utter_message(response="utter_next_best_intro")
    values = show_passage(dispatcher, teaching.from_result(results[0]), shown)
    dispatcher.utter_message(response="utter_ask_feedback")
    return values
