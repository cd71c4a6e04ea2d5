import asyncio
from functools import partial

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.answer_problem import ActionAnswerProblem
from bot.knowledge.index_store import search_passages, write_index
from tests.conftest import DEFAULT_KB


def tracker_saying(text: str) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "visitor-1",
            "slots": {},
            "latest_message": {"text": text, "intent": {"name": "describe_problem", "confidence": 0.9}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def run(action: ActionAnswerProblem, text: str) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_saying(text), {}))
    assert events == []
    return dispatcher


@pytest.fixture
def action(sqlite_url: str) -> ActionAnswerProblem:
    write_index(DEFAULT_KB, sqlite_url)
    return ActionAnswerProblem(search=partial(search_passages, db_url=sqlite_url))


def test_a_described_problem_gets_the_matching_article(action: ActionAnswerProblem) -> None:
    (message,) = run(action, "our emails keep going to the spam folder").messages
    assert message["response"] == "utter_article_answer"
    assert message["title"] == "Our emails land in spam or promotions"
    assert message["url"].endswith("/emails-going-to-spam")
    assert message["why_it_matters"]


def test_an_unanswerable_question_is_admitted(action: ActionAnswerProblem) -> None:
    (message,) = run(action, "what's the weather in paris tomorrow").messages
    assert message["response"] == "utter_no_article"


def test_a_missing_index_gets_an_apology_not_a_crash(tmp_path) -> None:
    action = ActionAnswerProblem(search=partial(search_passages, db_url=f"sqlite:///{tmp_path / 'none.db'}"))
    (message,) = run(action, "our emails go to spam").messages
    assert message["response"] == "utter_search_unavailable"
