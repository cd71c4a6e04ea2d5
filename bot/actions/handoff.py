"""The sales handoff: the offer on clear intent, yes/no in context, the lead form and the lead."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.actions import slots
from bot.actions.base import Configured, LanternAction, SlotValues
from bot.actions.common import (
    CONTROL_INTENT_MIN_CONFIDENCE,
    button_payload,
    latest_intent,
    latest_intent_confidence,
    latest_text,
    shown_articles,
)
from bot.actions.feedback import ActionRecordHelpful
from bot.actions.offer import FEEDBACK_QUESTION, OFFER, assess, last_bot_response, offer_handoff
from bot.actions.slots import LEAD_SLOTS
from bot.actions.teach import ActionNextBest
from bot.conversation.discovery import SKIPPED, given
from bot.handoff import live, live_messages
from bot.handoff.brief import ArticleRead, Contact, LeadBrief, slack_blocks
from bot.handoff.business_hours import BusinessHours, reply_expectation, team_back
from bot.handoff.contact import check_company, check_email, check_follow_up, check_name
from bot.handoff.leads import Announcement, create_lead
from bot.handoff.slack_api import SlackApi, SlackApiError
from bot.insights import feedback_in_conversation
from bot.knowledge.index_store import IndexNotBuilt, load_live_index
from bot.settings import Settings

logger = logging.getLogger(__name__)
CHAT_NOW = "chat now"
_CANCEL_WORDS = ("cancel", "never mind", "nevermind", "forget it", "changed my mind", "not now", "stop")


class ActionAffirmOrDeny(LanternAction):
    """"Yes" and "no" mean what the bot last asked: the offer, the feedback question, or nothing."""

    action_name = "action_affirm_or_deny"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        said_yes = latest_intent(tracker) == "affirm"
        asked = last_bot_response(tracker)
        if asked == OFFER and said_yes:
            return {slots.HANDOFF_ACCEPTED: True, slots.LEAD_CANCELLED: False}
        assessment = assess(tracker, self.settings)
        if asked == OFFER and assessment.is_clear:  # "go on then, put me through", "no call, but send a quote"
            return {slots.HANDOFF_ACCEPTED: True, slots.LEAD_CANCELLED: False}
        if assessment.is_clear:  # asked to buy where the bot had asked something else
            return {slots.HANDOFF_ACCEPTED: False, **offer_handoff(dispatcher, tracker, assessment)}
        if asked == OFFER:
            dispatcher.utter_message(response="utter_offer_declined")
            return {slots.HANDOFF_ACCEPTED: False, slots.HANDOFF_DECLINED: True}
        if asked == FEEDBACK_QUESTION and tracker.get_slot(slots.CURRENT_ARTICLE):
            follow_up = ActionRecordHelpful(self._settings) if said_yes else ActionNextBest(self._settings)
            return {slots.HANDOFF_ACCEPTED: False, **follow_up.act(dispatcher, tracker, domain)}
        dispatcher.utter_message(response="utter_what_problem")
        return {slots.HANDOFF_ACCEPTED: False}


def _hours(settings: Settings) -> BusinessHours:
    return BusinessHours.parse(settings.business_hours, settings.timezone)


def live_chat_closed(settings: Settings) -> Optional[str]:
    """When live chat is set up but the team is out: when they are back. None otherwise."""
    if not settings.live_handoff_enabled:
        return None
    hours, now = _hours(settings), datetime.now(timezone.utc)
    return None if hours.is_open(now) else team_back(hours, now)


class ActionAskLeadFollowUp(LanternAction):
    """The lead form's follow-up question: "Chat now" is offered only while someone can chat."""

    action_name = "action_ask_lead_follow_up"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        back = live_chat_closed(self.settings)
        if back is None:
            dispatcher.utter_message(response="utter_ask_lead_follow_up")
        else:
            dispatcher.utter_message(response="utter_ask_lead_follow_up_team_out", back=back)
        return {}


class ValidateLeadForm(Configured, FormValidationAction):
    """Only validated form input becomes lead data; a bad value is asked again with the reason."""

    action_name = "validate_lead_form"

    def _cancelled(self, tracker: Tracker, slot: str) -> Optional[Dict[Text, Any]]:
        text = latest_text(tracker).lower()
        stop_intent = latest_intent(tracker) in ("stop_discovery", "goodbye")
        confident = latest_intent_confidence(tracker) >= CONTROL_INTENT_MIN_CONFIDENCE
        if (stop_intent and confident) or any(word in text for word in _CANCEL_WORDS):
            remaining = LEAD_SLOTS[LEAD_SLOTS.index(slot) :]
            # What the visitor already gave stays in its slots: nothing is lost.
            return {**{name: SKIPPED for name in remaining}, slots.LEAD_CANCELLED: True}
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

    async def validate_lead_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._checked(slots.LEAD_NAME, value, dispatcher, tracker, check_name)

    async def validate_lead_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._checked(slots.LEAD_EMAIL, value, dispatcher, tracker, check_email)

    async def validate_lead_company(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {slots.LEAD_COMPANY: None}
        cancelled = self._cancelled(tracker, slots.LEAD_COMPANY)
        if cancelled:
            return cancelled
        if latest_intent(tracker) in ("skip", "deny"):
            return {slots.LEAD_COMPANY: SKIPPED}
        return {slots.LEAD_COMPANY: check_company(str(value)).value or SKIPPED}

    async def validate_lead_follow_up(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        clicked = button_payload(tracker, "utter_ask_lead_follow_up", self.domain_file) if value else None
        if clicked is not None:  # "Chat now" is an answer, not a cancellation
            checked = {slots.LEAD_FOLLOW_UP: check_follow_up(clicked).value}
        else:
            checked = self._checked(slots.LEAD_FOLLOW_UP, value, dispatcher, tracker, check_follow_up)
        back = live_chat_closed(self.settings) if checked.get(slots.LEAD_FOLLOW_UP) == CHAT_NOW else None
        if back is not None:  # typed, or clicked on an old question: nobody is in to chat
            dispatcher.utter_message(response="utter_live_chat_team_out", back=back)
            return {slots.LEAD_FOLLOW_UP: None}
        return checked

    async def validate_lead_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {slots.LEAD_CONSENT: None}
        clicked = button_payload(tracker, "utter_ask_lead_consent", self.domain_file)
        intent = clicked.lstrip("/") if clicked else latest_intent(tracker)
        if intent == "affirm":
            return {slots.LEAD_CONSENT: "yes", slots.LEAD_CONSENT_AT: datetime.now(timezone.utc).isoformat()}
        if intent == "deny" or self._cancelled(tracker, slots.LEAD_CONSENT):
            return {slots.LEAD_CONSENT: SKIPPED, slots.LEAD_CANCELLED: True}
        dispatcher.utter_message(response="utter_invalid_contact", reason="Please answer yes or no.")
        return {slots.LEAD_CONSENT: None}


class ActionCreateLead(LanternAction):
    """Store the lead with its brief and notifications, and tell the visitor when to expect a reply."""

    action_name = "action_create_lead"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        if any(e.get("name") == slots.LIVE_HANDOFF_ID and e.get("value") for e in events):
            # The bot steps aside while a person is asked for (bot/channels/handoff_relay.py).
            events.append(ConversationPaused())
        return events

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        settings = self.settings
        reset = {slots.HANDOFF_ACCEPTED: False, slots.LEAD_CANCELLED: False}
        if tracker.get_slot(slots.LEAD_CANCELLED) or tracker.get_slot(slots.LEAD_CONSENT) != "yes":
            dispatcher.utter_message(response="utter_handoff_cancelled")
            return reset
        contact = Contact(
            name=tracker.get_slot(slots.LEAD_NAME),
            email=tracker.get_slot(slots.LEAD_EMAIL),
            company=given(tracker.get_slot(slots.LEAD_COMPANY)),
            follow_up=tracker.get_slot(slots.LEAD_FOLLOW_UP),
        )
        brief = LeadBrief(
            problem=given(tracker.get_slot(slots.PROBLEM)),
            symptoms=given(tracker.get_slot(slots.SYMPTOMS)),
            why_it_matters_to_them=given(tracker.get_slot(slots.IMPACT)),
            already_tried=given(tracker.get_slot(slots.TRIED)),
            articles_read=self._articles_read(tracker, settings),
            intent_evidence=tracker.get_slot(slots.INTENT_EVIDENCE) or "",
        )
        consent_at = tracker.get_slot(slots.LEAD_CONSENT_AT)
        try:
            lead_id = create_lead(
                settings.db_url,
                Announcement.from_settings(settings),
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel() or "unknown",
                contact=contact,
                brief=brief,
                intent_level=tracker.get_slot(slots.INTENT_LEVEL) or "clear",
                consent_at=datetime.fromisoformat(consent_at) if consent_at else None,
            )
        except SQLAlchemyError:
            logger.exception("could not store the lead")
            dispatcher.utter_message(response="utter_lead_failed")
            return reset
        hours = _hours(settings)
        now = datetime.now(timezone.utc)
        if contact.follow_up == CHAT_NOW and settings.live_handoff_enabled and hours.is_open(now):
            handoff_id = self._ask_for_a_rep(tracker, lead_id, contact, brief)
            if handoff_id is not None:
                dispatcher.utter_message(response="utter_live_handoff_waiting",
                                         wait=live_messages.duration(settings.handoff_wait_seconds))
                return {**reset, slots.LEAD_ID: str(lead_id), slots.LIVE_HANDOFF_ID: str(handoff_id)}
            contact = Contact(contact.name, contact.email, contact.company, "email")  # Slack is unreachable
        expectation = reply_expectation(hours, now, contact.follow_up)
        dispatcher.utter_message(response="utter_lead_created", expectation=expectation)
        return {**reset, slots.LEAD_ID: str(lead_id)}

    def _ask_for_a_rep(self, tracker: Tracker, lead_id: int, contact: Contact, brief: LeadBrief) -> Optional[int]:
        """Post the brief with "Take this conversation" to the sales channel; the handoff's id,
        or None when Slack could not be reached (the lead is stored either way)."""
        settings = self.settings
        channel = settings.sales_channel or ""
        visitor_channel = tracker.get_latest_input_channel() or "unknown"
        try:
            handoff = live.request_live(settings.db_url, tracker.sender_id, visitor_channel, lead_id)
        except SQLAlchemyError:
            logger.exception("could not start the live handoff")
            return None
        api = SlackApi(settings.slack_bot_token or "", settings.slack_api_url, settings.notify_timeout_seconds)
        transcript = Announcement.from_settings(settings).transcript_url(tracker.sender_id)
        message = live_messages.waiting_for_rep(
            handoff.id, slack_blocks(lead_id, contact, brief, transcript), visitor_channel,
            live_messages.duration(settings.handoff_wait_seconds),
        )
        try:
            ts = api.post(channel, message["text"], message["blocks"])
            live.attach_slack_message(settings.db_url, handoff.id, channel, ts)
            api.post(channel, live_messages.THREAD_INTRO, thread_ts=ts)
        except (SlackApiError, SQLAlchemyError):
            logger.exception("could not post the live handoff to %s", channel)
            live.end(settings.db_url, handoff.id, live.WITH_BOT, "unreachable", "lantern (Slack unreachable)")
            return None
        return handoff.id

    def _articles_read(self, tracker: Tracker, settings: Settings) -> List[ArticleRead]:
        shown = shown_articles(tracker)
        if not shown:
            return []
        try:
            index = load_live_index(settings.db_url)
            helped = feedback_in_conversation(settings.db_url, tracker.sender_id)
        except (IndexNotBuilt, SQLAlchemyError):
            logger.exception("could not look up articles for the brief")
            return [ArticleRead(article_id, article_id, "") for article_id in shown]
        read = []
        for article_id in shown:
            article = index.article(article_id)
            if article is not None:
                read.append(ArticleRead(article.id, article.title, article.url, helped.get(article_id)))
        return read
