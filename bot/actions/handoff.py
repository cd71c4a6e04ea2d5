"""The sales handoff: the offer on clear intent, yes/no in context, the lead form and the lead."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.actions.common import (
    CONTROL_INTENT_MIN_CONFIDENCE,
    latest_intent,
    latest_intent_confidence,
    latest_text,
    shown_articles,
)
from bot.actions.feedback import ActionRecordHelpful
from bot.actions.offer import FEEDBACK_QUESTION, OFFER, assess, last_bot_response, offer_handoff
from bot.actions.teach import ActionNextBest
from bot.db import session_scope
from bot.discovery import SKIPPED, given
from bot.handoff.brief import ArticleRead, Contact, LeadBrief
from bot.handoff.business_hours import BusinessHours, reply_expectation
from bot.handoff.contact import check_company, check_email, check_follow_up, check_name
from bot.handoff.leads import create_lead
from bot.knowledge.index_store import IndexNotBuilt, load_live_index
from bot.models import ArticleFeedback
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)
LEAD_SLOTS = ("lead_name", "lead_email", "lead_company", "lead_follow_up", "lead_consent")
_CANCEL_WORDS = ("cancel", "never mind", "nevermind", "forget it", "changed my mind", "not now", "stop")


class ActionAffirmOrDeny(Action):
    """"Yes" and "no" mean what the bot last asked: the offer, the feedback question, or nothing."""

    def __init__(self, db_url: Optional[str] = None) -> None:
        self._db_url = db_url

    def name(self) -> Text:
        return "action_affirm_or_deny"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        said_yes = latest_intent(tracker) == "affirm"
        asked = last_bot_response(tracker)
        if asked == OFFER and said_yes:
            return [SlotSet("handoff_accepted", True), SlotSet("lead_cancelled", False)]
        assessment = assess(tracker)
        if assessment.is_clear:  # "no, but send me a quote"
            offered = offer_handoff(dispatcher, tracker, assessment)
            return [SlotSet("handoff_accepted", False)] + [SlotSet(k, v) for k, v in offered.items()]
        events: List[Dict[Text, Any]] = [SlotSet("handoff_accepted", False)]
        if asked == OFFER:
            dispatcher.utter_message(response="utter_offer_declined")
            return events + [SlotSet("handoff_declined", True)]
        if asked == FEEDBACK_QUESTION and tracker.get_slot("current_article"):
            follow_up = ActionRecordHelpful(self._db_url) if said_yes else ActionNextBest(self._db_url)
            return events + await follow_up.run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_what_problem")
        return events


class ValidateLeadForm(FormValidationAction):
    """Only validated form input becomes lead data; a bad value is asked again with the reason."""

    def name(self) -> Text:
        return "validate_lead_form"

    def _cancelled(self, tracker: Tracker, slot: str) -> Optional[Dict[Text, Any]]:
        text = latest_text(tracker).lower()
        stop_intent = latest_intent(tracker) in ("stop_discovery", "goodbye")
        confident = latest_intent_confidence(tracker) >= CONTROL_INTENT_MIN_CONFIDENCE
        if (stop_intent and confident) or any(word in text for word in _CANCEL_WORDS):
            remaining = LEAD_SLOTS[LEAD_SLOTS.index(slot) :]
            # What the visitor already gave stays in its slots: nothing is lost.
            return {**{name: SKIPPED for name in remaining}, "lead_cancelled": True}
        return None

    def _checked(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, check: Any
    ) -> Dict[Text, Any]:
        """Cancel, or keep the checked value, or say why it was refused and ask again."""
        if value is None:
            return {slot: None}
        cancelled = self._cancelled(tracker, slot)
        if cancelled:
            return cancelled
        checked = check(str(value))
        if not checked.ok:
            dispatcher.utter_message(response="utter_invalid_contact", reason=checked.reason)
        return {slot: checked.value}

    async def validate_lead_name(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._checked("lead_name", value, dispatcher, tracker, check_name)

    async def validate_lead_email(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._checked("lead_email", value, dispatcher, tracker, check_email)

    async def validate_lead_company(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if value is None:
            return {"lead_company": None}
        cancelled = self._cancelled(tracker, "lead_company")
        if cancelled:
            return cancelled
        if latest_intent(tracker) in ("skip", "deny"):
            return {"lead_company": SKIPPED}
        return {"lead_company": check_company(str(value)).value or SKIPPED}

    async def validate_lead_follow_up(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._checked("lead_follow_up", value, dispatcher, tracker, check_follow_up)

    async def validate_lead_consent(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if value is None:
            return {"lead_consent": None}
        intent = latest_intent(tracker)
        if intent == "affirm":
            return {"lead_consent": "yes", "lead_consent_at": datetime.now(timezone.utc).isoformat()}
        if intent == "deny" or self._cancelled(tracker, "lead_consent"):
            return {"lead_consent": SKIPPED, "lead_cancelled": True}
        dispatcher.utter_message(response="utter_invalid_contact", reason="Please answer yes or no.")
        return {"lead_consent": None}


class ActionCreateLead(Action):
    """Store the lead with its brief and notifications, and tell the visitor when to expect a reply."""

    def __init__(self, settings: Optional[Settings] = None) -> None:
        self._settings = settings

    def name(self) -> Text:
        return "action_create_lead"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        settings = self._settings or get_settings()
        reset = [SlotSet("handoff_accepted", False), SlotSet("lead_cancelled", False)]
        if tracker.get_slot("lead_cancelled") or tracker.get_slot("lead_consent") != "yes":
            dispatcher.utter_message(response="utter_handoff_cancelled")
            return reset
        contact = Contact(
            name=tracker.get_slot("lead_name"),
            email=tracker.get_slot("lead_email"),
            company=given(tracker.get_slot("lead_company")),
            follow_up=tracker.get_slot("lead_follow_up"),
        )
        brief = LeadBrief(
            problem=given(tracker.get_slot("problem")),
            symptoms=given(tracker.get_slot("symptoms")),
            why_it_matters_to_them=given(tracker.get_slot("impact")),
            already_tried=given(tracker.get_slot("tried")),
            articles_read=self._articles_read(tracker, settings),
            intent_evidence=tracker.get_slot("intent_evidence") or "",
        )
        consent_at = tracker.get_slot("lead_consent_at")
        try:
            lead_id = create_lead(
                settings,
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel() or "unknown",
                contact=contact,
                brief=brief,
                intent_level=tracker.get_slot("intent_level") or "clear",
                consent_at=datetime.fromisoformat(consent_at) if consent_at else None,
            )
        except SQLAlchemyError:
            logger.exception("could not store the lead")
            dispatcher.utter_message(response="utter_lead_failed")
            return reset
        hours = BusinessHours.parse(settings.business_hours, settings.timezone)
        expectation = reply_expectation(hours, datetime.now(timezone.utc), contact.follow_up)
        dispatcher.utter_message(response="utter_lead_created", expectation=expectation)
        return reset + [SlotSet("lead_id", str(lead_id))]

    def _articles_read(self, tracker: Tracker, settings: Settings) -> List[ArticleRead]:
        shown = shown_articles(tracker)
        if not shown:
            return []
        try:
            index = load_live_index(settings.db_url)
            with session_scope(settings.db_url) as session:
                rows = session.execute(
                    select(ArticleFeedback.article_id, ArticleFeedback.helpful)
                    .where(ArticleFeedback.conversation_id == tracker.sender_id)
                    .order_by(ArticleFeedback.id)
                ).all()
        except (IndexNotBuilt, SQLAlchemyError):
            logger.exception("could not look up articles for the brief")
            return [ArticleRead(article_id, article_id, "") for article_id in shown]
        helped = {article_id: was_helpful for article_id, was_helpful in rows}
        read = []
        for article_id in shown:
            article = index.article(article_id)
            if article is not None:
                read.append(ArticleRead(article.id, article.title, article.url, helped.get(article_id)))
        return read
