"""Builders for real `Tracker` objects and a temporary indexed database."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, Optional

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.knowledge.index_store import write_index
from bot.settings import Settings, load_settings
from tests.conftest import DEFAULT_KB, PROJECT_HOME


def with_db(db_url: str) -> Settings:
    """The project's settings with the application database at `db_url`, for an action."""
    return replace(load_settings(home=PROJECT_HOME), db_url=db_url)


def make_tracker(
    text: str,
    intent: str = "describe_problem",
    slots: Optional[dict[str, Any]] = None,
    sender_id: str = "visitor-1",
    active_loop: Optional[str] = None,
    events: Optional[list[dict[str, Any]]] = None,
    confidence: float = 0.9,
) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": sender_id,
            "slots": slots or {},
            "latest_message": {"text": text, "intent": {"name": intent, "confidence": confidence}},
            "events": (events or []) + [{"event": "user", "text": text}],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
    )


def bot_said(response: str) -> dict[str, Any]:
    """A bot event as Rasa records it for a response uttered by an action."""
    return {"event": "bot", "text": "...", "metadata": {"utter_action": response}}


def run_action(action: Action, tracker: Tracker) -> tuple[CollectingDispatcher, dict[str, Any]]:
    """Run an action; returns the dispatcher and the slots it set."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") for m in dispatcher.messages]


@pytest.fixture
def indexed_db(sqlite_url: str) -> str:
    write_index(sqlite_url, DEFAULT_KB)
    return sqlite_url
