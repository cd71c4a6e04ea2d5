"""Teaching: reflect the problem, show the passages that explain it, and follow up."""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.actions import slots
from bot.actions.base import LanternAction, SlotValues
from bot.actions.common import latest_intent, latest_text, show_passage, shown_articles
from bot.actions.offer import assess, offer_handoff, say_what_we_do
from bot.conversation import teaching
from bot.conversation.buying_intent import OFFERING_KINDS
from bot.conversation.discovery import DiscoverySummary, looks_like_question, restate, search_queries
from bot.insights import record_article_feedback, record_content_gap
from bot.knowledge.index_store import IndexNotBuilt, load_live_index
from bot.knowledge.search import IndexedArticle, IntentLevel, PassageIndex

logger = logging.getLogger(__name__)
RECOMMENDATIONS = 3
# NLU's sales intents: a problem described in sales words is often taken for one of them.
SALES_WORD_INTENTS = frozenset({"ask_pricing", "request_demo", "request_sales_contact", "ready_to_buy"})


def answer_with_articles(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    query: str,
    db_url: str,
    k: int = RECOMMENDATIONS,
    queries: Optional[List[str]] = None,
    intent: IntentLevel = IntentLevel.NONE,
    follow_up: bool = True,
    kinds: Optional[frozenset[str]] = None,
) -> Dict[Text, Any]:
    """Show up to `k` articles for the query, or admit there is none and log the gap.

    Returns the slot values to set. Never raises: a search failure gets an apology.
    """
    try:
        index = load_live_index(db_url)
        shown = shown_articles(tracker)
        results = teaching.best_articles(index, queries or [query], k=k, intent=intent, exclude=shown, kinds=kinds)
        if not results and not follow_up:
            return {slots.LAST_QUERY: query}  # a handoff offer follows; no need to apologise
        if not results:
            topic = teaching.closest_topic(index, query)
            try:
                record_content_gap(db_url, tracker.sender_id, query, topic)
            except SQLAlchemyError:
                logger.exception("could not record a content gap")  # the visitor still gets a reply
            if topic:
                dispatcher.utter_message(response="utter_no_article_closest_topic", topic=topic)
            else:
                dispatcher.utter_message(response="utter_no_article")
            return {slots.LAST_QUERY: query}
        values: Dict[Text, Any] = {}
        for result in results:
            values = show_passage(dispatcher, teaching.from_result(result), shown)
        # Follow-ups ("tell me more", "why?") are about the best match, shown first.
        values.update(
            {
                slots.CURRENT_ARTICLE: results[0].id,
                slots.CURRENT_HEADING: results[0].passage_heading,
                slots.OPENED_HEADING: results[0].passage_heading,
            }
        )
        if follow_up:
            best = index.article(results[0].id)
            related = teaching.related_article(index, best, shown) if best else None
            if related is not None:
                dispatcher.utter_message(response="utter_related_pain", title=related.title)
            dispatcher.utter_message(response="utter_ask_feedback")
        return {**values, slots.LAST_QUERY: query}
    except (IndexNotBuilt, SQLAlchemyError):
        logger.exception("knowledge-base search failed")
        dispatcher.utter_message(response="utter_search_unavailable")
        return {}


class ActionReflectAndTeach(LanternAction):
    """After discovery: restate the problem in the visitor's words, then teach."""

    action_name = "action_reflect_and_teach"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        if tracker.get_slot(slots.TEACH_AFTER_DISCOVERY) is False:
            return {slots.TEACH_AFTER_DISCOVERY: True}
        summary = DiscoverySummary.from_answers(
            tracker.get_slot(slots.PROBLEM) or latest_text(tracker),
            tracker.get_slot(slots.SYMPTOMS),
            tracker.get_slot(slots.IMPACT),
            tracker.get_slot(slots.TRIED),
        )
        dispatcher.utter_message(response="utter_reflect", restatement=restate(summary))
        return answer_with_articles(
            dispatcher, tracker, summary.problem, self.db_url, queries=search_queries(summary)
        )


class ActionAnswerQuestion(LanternAction):
    """A direct question gets an answer at once: discovery never blocks help.

    Buying intent is judged here too: clear intent gets the offer in the same reply (with the
    company's own service or pricing page when one answers the question); interest gets an
    honest answer, a service page where one fits, and a line that makes asking easy; wanting
    something the company doesn't sell gets what it does instead. A problem that NLU took for
    a sales request because of its words ("our sales team says the leads are junk") is a
    problem: it goes through discovery like any other (the rules start it).
    """

    action_name = "action_answer_question"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        assessment = assess(tracker, self.settings)
        text = latest_text(tracker)
        if assessment.is_clear:
            values = answer_with_articles(
                dispatcher, tracker, text, self.db_url, k=1, intent=IntentLevel.CLEAR, follow_up=False,
                kinds=OFFERING_KINDS,
            )
            return {**values, **offer_handoff(dispatcher, tracker, assessment)}
        if assessment.buys_elsewhere:
            say_what_we_do(dispatcher, self.settings)
            return {}
        if (
            assessment.judged
            and assessment.level is IntentLevel.NONE
            and latest_intent(tracker) in SALES_WORD_INTENTS
            and not tracker.active_loop_name
            and not looks_like_question(text)
        ):
            return {slots.PROBLEM_DESCRIBED: True}
        values = answer_with_articles(dispatcher, tracker, text, self.db_url, k=1, intent=assessment.level)
        if assessment.level is IntentLevel.INTEREST:
            dispatcher.utter_message(response="utter_interest_invite")
        return values


class _FollowUp(LanternAction):
    """Base of the follow-ups that work on the article shown last (abstract: not registered)."""

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        try:
            index = load_live_index(self.db_url)
            article = index.article(tracker.get_slot(slots.CURRENT_ARTICLE) or "")
            if article is None:
                dispatcher.utter_message(response="utter_nothing_shown_yet")
                return {}
            return self.follow_up(dispatcher, tracker, index, article)
        except (IndexNotBuilt, SQLAlchemyError):
            logger.exception("knowledge-base index unavailable")
            dispatcher.utter_message(response="utter_search_unavailable")
            return {}

    @abstractmethod
    def follow_up(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, index: PassageIndex, article: IndexedArticle
    ) -> SlotValues:
        """Utter the follow-up; return the slot values to set."""


class ActionTellMore(_FollowUp):
    """"Tell me more": the next section of the article being discussed."""

    action_name = "action_tell_more"

    def follow_up(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, index: PassageIndex, article: IndexedArticle
    ) -> SlotValues:
        section = teaching.next_section(
            article, tracker.get_slot(slots.CURRENT_HEADING), tracker.get_slot(slots.OPENED_HEADING)
        )
        if section is None:
            dispatcher.utter_message(response="utter_article_finished", title=article.title, url=article.url)
            return {}
        passage = teaching.passage_of(article, *section)
        return show_passage(dispatcher, passage, shown_articles(tracker), response="utter_more_passage")


class ActionExplainWhy(_FollowUp):
    """"Why?": what the problem costs, from the article's own words."""

    action_name = "action_explain_why"

    def follow_up(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, index: PassageIndex, article: IndexedArticle
    ) -> SlotValues:
        section = teaching.why_section(article)
        if section is None or section[0] == tracker.get_slot(slots.CURRENT_HEADING):
            dispatcher.utter_message(response="utter_why_it_matters", why_it_matters=article.why_it_matters)
            return {}
        passage = teaching.passage_of(article, *section)
        return show_passage(dispatcher, passage, shown_articles(tracker), response="utter_more_passage")


class ActionWhatElse(_FollowUp):
    """"What else?": a related problem that often comes with this one, else the next-best article."""

    action_name = "action_what_else"

    def follow_up(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, index: PassageIndex, article: IndexedArticle
    ) -> SlotValues:
        shown = shown_articles(tracker)
        related = teaching.related_article(index, article, shown)
        if related is not None and related.sections:
            dispatcher.utter_message(response="utter_related_intro")
            heading, text = related.sections[0]
            return show_passage(dispatcher, teaching.passage_of(related, heading, text), shown)
        return _next_best(dispatcher, tracker, index, shown)


class ActionNextBest(_FollowUp):
    """"That didn't help": note it, then a different article (never the same one) or a clarifying question."""

    action_name = "action_next_best"

    def follow_up(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, index: PassageIndex, article: IndexedArticle
    ) -> SlotValues:
        record_article_feedback(self.db_url, tracker.sender_id, article.id, helpful=False, comment=latest_text(tracker))
        return _next_best(dispatcher, tracker, index, shown_articles(tracker))


def _next_best(
    dispatcher: CollectingDispatcher, tracker: Tracker, index: PassageIndex, shown: List[str]
) -> Dict[Text, Any]:
    query = tracker.get_slot(slots.LAST_QUERY) or tracker.get_slot(slots.PROBLEM) or ""
    results = teaching.best_articles(index, [query], k=1, exclude=shown) if query else []
    if not results:
        dispatcher.utter_message(response="utter_ask_clarify")
        return {}
    dispatcher.utter_message(response="utter_next_best_intro")
    values = show_passage(dispatcher, teaching.from_result(results[0]), shown)
    dispatcher.utter_message(response="utter_ask_feedback")
    return values
