"""Feedback on the article shown last: kept per article for the marketing team."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.actions.common import latest_text
from bot.insights import record_article_feedback

logger = logging.getLogger(__name__)


class ActionRecordHelpful(Action):
    """The visitor said the article helped: store it and thank them."""

    def __init__(self, db_url: Optional[str] = None) -> None:
        self._db_url = db_url

    def name(self) -> Text:
        return "action_record_helpful"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        article_id = tracker.get_slot("current_article")
        if article_id:
            text = latest_text(tracker)
            try:
                record_article_feedback(
                    tracker.sender_id,
                    article_id,
                    helpful=True,
                    comment=None if text.startswith("/") else text,
                    db_url=self._db_url,
                )
            except SQLAlchemyError:
                logger.exception("could not store feedback")
        dispatcher.utter_message(response="utter_thanks_for_feedback")
        return []
