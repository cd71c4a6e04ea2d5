"""Feedback on the article shown last: kept per article for the marketing team."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.actions import slots
from bot.actions.base import LanternAction, SlotValues
from bot.actions.common import latest_text
from bot.insights import record_article_feedback

logger = logging.getLogger(__name__)


class ActionRecordHelpful(LanternAction):
    """The visitor said the article helped: store it and thank them."""

    action_name = "action_record_helpful"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        article_id = tracker.get_slot(slots.CURRENT_ARTICLE)
        if article_id:
            text = latest_text(tracker)
            try:
                record_article_feedback(
                    self.db_url,
                    tracker.sender_id,
                    article_id,
                    helpful=True,
                    comment=None if text.startswith("/") else text,
                )
            except SQLAlchemyError:
                logger.exception("could not store feedback")
        dispatcher.utter_message(response="utter_thanks_for_feedback")
        return {}
