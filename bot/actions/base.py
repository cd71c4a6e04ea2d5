"""The one way to write a Lantern action.

    class ActionSayHello(LanternAction):
        action_name = "action_say_hello"          # as listed in domain.yml

        def act(self, dispatcher, tracker, domain) -> SlotValues:
            dispatcher.utter_message(response="utter_hello")
            return {slots.PROBLEM: None}           # slots to set; {} for none

- The action server creates each action with no arguments; a test passes `settings`
  (e.g. one pointing at a temporary database). Otherwise the process's `get_settings()`.
- `act` is plain (blocking) code: the database and the search are called directly, and
  `run` calls `act` on a worker thread so the action server's event loop keeps serving
  other conversations meanwhile (a PostgreSQL query is a network round trip).
- The returned mapping becomes `SlotSet` events, in its order.
Form validation actions take the same settings through `Configured`.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)
SlotValues = Mapping[Text, Any]


def slot_events(values: SlotValues) -> List[Dict[Text, Any]]:
    """`SlotSet` events for a slot mapping, in its order."""
    return [SlotSet(name, value) for name, value in values.items()]


class Configured:
    """Settings injected (tests) or the process's own; the action's name from `action_name`."""

    action_name: ClassVar[str]

    def __init__(self, settings: Optional[Settings] = None) -> None:
        self._settings = settings

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    @property
    def domain_file(self) -> Path:
        """domain.yml, for what the SDK's domain doesn't carry (`enable_selective_domain`)."""
        return self.settings.home / "domain.yml"

    @property
    def db_url(self) -> str:
        """The application database, the one way actions name it."""
        return self.settings.db_url

    def name(self) -> Text:
        return self.action_name


class LanternAction(Configured, Action, ABC):
    """A custom action: `act` returns the slots to set and runs off the event loop."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        return slot_events(await asyncio.to_thread(self._act_and_note, dispatcher, tracker, domain))

    def _act_and_note(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        values = self.act(dispatcher, tracker, domain)
        from bot.actions.insight_signals import note_turn  # imports the index; keeps this module light

        note_turn(self.action_name, self.db_url, dispatcher, tracker, values)  # never raises: insights must not cost a reply
        return values

    @abstractmethod
    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> SlotValues:
        """Utter the responses; return the slot values to set (blocking calls are fine here)."""
