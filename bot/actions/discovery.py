"""Discovery: collect the problem, what the visitor sees, what it costs them and what they tried."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions import slots
from bot.actions.base import Configured, LanternAction, SlotValues
from bot.actions.common import CONTROL_INTENT_MIN_CONFIDENCE, latest_intent, latest_intent_confidence, latest_text
from bot.actions.offer import assess, offer_handoff, say_what_we_do
from bot.actions.replies import REPLIES
from bot.actions.slots import DISCOVERY_SLOTS
from bot.actions.teach import answer_with_articles
from bot.conversation.discovery import SKIPPED, looks_like_question

# Replies that mean "no answer" rather than being the answer (`skip` covers "rather not say"
# and "no idea": the dialogue treats both alike, so NLU no longer tells them apart).
NO_ANSWER_INTENTS = {"skip", "deny"}
# Messages that are not answers: handled as anywhere else (the replies of `REPLIES`), then
# the same question is asked again; a greeting mid-discovery just leads back to it.
ASIDE_RESPONSES = {
    **{
        intent: REPLIES[intent]
        for intent in ("bot_challenge", "ask_identity", "insult", "other_language", "out_of_scope", "request_human_support")
    },
    "greet": "utter_back_to_discovery",
}
QUESTION_INTENTS = {"ask_question", "ask_services", "ask_pricing", "request_demo", "request_sales_contact", "ready_to_buy"}


class ActionStartDiscovery(LanternAction):
    """Take the visitor's description as the problem and start a fresh discovery."""

    action_name = "action_start_discovery"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        assessment = assess(tracker, self.settings)
        skipped = {name: SKIPPED for name in DISCOVERY_SLOTS}
        # Filling the form's slots lets the form finish at once, without teaching.
        if assessment.is_clear:
            # "We're ready to hire someone for this": no questions, the offer now.
            offered = offer_handoff(dispatcher, tracker, assessment)
            return {slots.PROBLEM: latest_text(tracker), **skipped, slots.TEACH_AFTER_DISCOVERY: False,
                    slots.PROBLEM_DESCRIBED: None, **offered}
        if assessment.buys_elsewhere:
            say_what_we_do(dispatcher, self.settings)
            return {**skipped, slots.TEACH_AFTER_DISCOVERY: False, slots.PROBLEM_DESCRIBED: None}
        dispatcher.utter_message(response="utter_start_discovery")
        return {
            slots.PROBLEM_DESCRIBED: None,
            slots.PROBLEM: latest_text(tracker),
            slots.SYMPTOMS: None,
            slots.IMPACT: None,
            slots.TRIED: None,
            slots.TEACH_AFTER_DISCOVERY: True,
        }


class ValidateDiscoveryForm(Configured, FormValidationAction):
    """Every reply during discovery passes here: answers are kept, skips recorded, asides handled."""

    action_name = "validate_discovery_form"

    async def validate_symptoms(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return await asyncio.to_thread(self._validate, slots.SYMPTOMS, value, dispatcher, tracker)

    async def validate_impact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return await asyncio.to_thread(self._validate, slots.IMPACT, value, dispatcher, tracker)

    async def validate_tried(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return await asyncio.to_thread(self._validate, slots.TRIED, value, dispatcher, tracker)

    def _validate(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
        if value is None or value == SKIPPED:
            # Set by action_start_discovery (a reset, or a skip on clear intent), not a reply.
            return {slot: value}
        intent = latest_intent(tracker)
        if intent not in QUESTION_INTENTS and latest_intent_confidence(tracker) < CONTROL_INTENT_MIN_CONFIDENCE:
            intent = None  # an answer NLU had no good label for: take it as the answer
        remaining = DISCOVERY_SLOTS[DISCOVERY_SLOTS.index(slot) :]
        assessment = assess(tracker, self.settings)
        if assessment.is_clear:
            # Clear buying intent wins over discovery: offer a rep in this very reply. The
            # message is kept as this question's answer, so the brief has what was said.
            offered = offer_handoff(dispatcher, tracker, assessment)
            rest = {name: SKIPPED for name in remaining[1:]}
            return {slot: latest_text(tracker), **rest, slots.TEACH_AFTER_DISCOVERY: False, **offered}
        if intent in NO_ANSWER_INTENTS:
            return {slot: SKIPPED}
        if intent == "stop_discovery":
            return {name: SKIPPED for name in remaining}
        if intent == "goodbye":
            dispatcher.utter_message(response="utter_goodbye")
            return {**{name: SKIPPED for name in remaining}, slots.TEACH_AFTER_DISCOVERY: False}
        if intent == "why_do_you_ask":
            dispatcher.utter_message(response=f"utter_why_ask_{slot}")
            return {slot: None}
        if intent in ASIDE_RESPONSES:
            dispatcher.utter_message(response=ASIDE_RESPONSES[intent])
            return {slot: None}
        if intent in QUESTION_INTENTS and looks_like_question(latest_text(tracker)):
            # Changing the subject: answer now, then discovery resumes with the same question;
            # "just show me" or "skip" from here ends or shortens it, as the visitor prefers.
            shown = answer_with_articles(
                dispatcher, tracker, latest_text(tracker), self.db_url, k=1, intent=assessment.level
            )
            dispatcher.utter_message(response="utter_back_to_discovery")
            return {**shown, slot: None}
        return {slot: str(value).strip() or SKIPPED}
