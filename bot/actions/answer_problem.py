"""Answer a described problem with the knowledge-base article that explains it."""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.knowledge.index_store import IndexNotBuilt, search_passages
from bot.knowledge.search import SearchResult

logger = logging.getLogger(__name__)


class ActionAnswerProblem(Action):
    """Search the live index with the visitor's words and share the best article, or say there is none."""

    def __init__(self, search: Callable[..., List[SearchResult]] = search_passages) -> None:
        self._search = search

    def name(self) -> Text:
        return "action_answer_problem"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        query = (tracker.latest_message or {}).get("text") or ""
        try:
            results = self._search(query, k=1)
        except (IndexNotBuilt, SQLAlchemyError):
            logger.exception("knowledge-base search failed")
            dispatcher.utter_message(response="utter_search_unavailable")
            return []
        if not results:
            dispatcher.utter_message(response="utter_no_article")
            return []
        best = results[0]
        dispatcher.utter_message(
            response="utter_article_answer",
            title=best.title,
            why_it_matters=best.why_it_matters,
            url=best.url,
        )
        return []
