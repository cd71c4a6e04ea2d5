"""Fixed replies to small talk and boundaries, after buying intent has been judged.

Every visitor message has its buying intent judged, whatever NLU called it: "thanks, can you
send me a quote?" is a buying request even when it scores as a thank-you.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.base import LanternAction, SlotValues
from bot.actions.common import latest_intent
from bot.actions.offer import assess, offer_handoff, say_what_we_do

REPLIES = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank": "utter_youre_welcome",
    "bot_challenge": "utter_iamabot",
    "ask_identity": "utter_identity",
    "insult": "utter_insult",
    "other_language": "utter_english_only",
    "request_human_support": "utter_human_support",
    "just_researching": "utter_just_researching",
    "out_of_scope": "utter_out_of_scope",
    "nlu_fallback": "utter_ask_rephrase",
    "why_do_you_ask": "utter_why_ask_general",
    "skip": "utter_what_problem",
    "stop_discovery": "utter_what_problem",
}


class ActionReply(LanternAction):
    """The fixed reply for the message's intent, or the handoff offer if the words show clear intent."""

    action_name = "action_reply"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        assessment = assess(tracker, self.settings)
        if assessment.is_clear:
            return offer_handoff(dispatcher, tracker, assessment)
        if assessment.buys_elsewhere:
            say_what_we_do(dispatcher, self.settings)
            return {}
        dispatcher.utter_message(response=REPLIES.get(latest_intent(tracker) or "", "utter_ask_rephrase"))
        return {}
