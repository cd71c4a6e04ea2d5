"""The action base class and the slot names the actions use."""

from __future__ import annotations

import asyncio
import threading

import yaml
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from bot.actions import slots
from bot.actions.base import LanternAction, SlotValues
from bot.settings import get_settings
from tests.actions.conftest import make_tracker, with_db
from tests.conftest import PROJECT_HOME


def _domain() -> dict:
    return yaml.safe_load((PROJECT_HOME / "domain.yml").read_text())


def test_the_slot_constants_are_exactly_the_slots_of_the_domain() -> None:
    constants = {value for name, value in vars(slots).items() if name.isupper() and isinstance(value, str)}
    assert constants == set(_domain()["slots"])


def test_the_form_slot_orders_are_the_forms_of_the_domain() -> None:
    forms = _domain()["forms"]
    assert list(slots.DISCOVERY_SLOTS) == forms["discovery_form"]["required_slots"]
    assert list(slots.LEAD_SLOTS) == forms["lead_form"]["required_slots"]


class ActionForTest(LanternAction):
    action_name = "action_for_test"

    def act(self, dispatcher, tracker, domain) -> SlotValues:
        dispatcher.utter_message(response="utter_greet")
        return {slots.PROBLEM: self.db_url, slots.LAST_QUERY: threading.current_thread() is threading.main_thread()}


def test_an_action_has_its_name_settings_and_returns_slot_events(tmp_path) -> None:
    db_url = f"sqlite:///{tmp_path / 'x.db'}"
    action = ActionForTest(settings=with_db(db_url))
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, make_tracker("hi"), {}))
    assert action.name() == "action_for_test"
    assert [m["response"] for m in dispatcher.messages] == ["utter_greet"]
    # The slot mapping becomes SlotSet events in order; `act` ran off the event loop's thread.
    assert [(e["event"], e["name"], e["value"]) for e in events] == [
        ("slot", "problem", db_url),
        ("slot", "last_query", False),
    ]


def test_without_injected_settings_an_action_uses_the_process_settings() -> None:
    assert ActionForTest().db_url == get_settings().db_url


def test_the_action_server_registers_every_action_of_the_domain_and_no_base_class() -> None:
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    registered = set(executor.actions) - {"action_for_test"}
    assert registered == set(_domain()["actions"])
