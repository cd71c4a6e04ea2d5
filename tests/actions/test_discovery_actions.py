import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.discovery import ActionStartDiscovery, ValidateDiscoveryForm
from bot.conversation.discovery import SKIPPED
from tests.actions.conftest import make_tracker, responses, run_action, with_db


def test_start_discovery_keeps_the_visitors_words_and_resets_old_answers() -> None:
    tracker = make_tracker("nobody visits our site", slots={"symptoms": "old", "impact": "old", "tried": "old"})
    dispatcher, slots = run_action(ActionStartDiscovery(), tracker)
    assert slots == {"problem_described": None, "problem": "nobody visits our site", "symptoms": None,
                     "impact": None, "tried": None, "teach_after_discovery": True}
    assert responses(dispatcher) == ["utter_start_discovery"]


def validate(
    slot: str, text: str, intent: str, db_url: str = "sqlite://", confidence: float = 0.9
) -> tuple[dict, list]:
    validator = ValidateDiscoveryForm(settings=with_db(db_url))
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text, intent=intent, slots={"requested_slot": slot}, active_loop="discovery_form", confidence=confidence
    )
    method = getattr(validator, f"validate_{slot}")
    result = asyncio.run(method(text, dispatcher, tracker, {}))
    return result, responses(dispatcher)


def test_an_answer_is_kept_as_typed() -> None:
    assert validate("symptoms", " traffic halved since march ", "describe_problem") == (
        {"symptoms": "traffic halved since march"}, []
    )


def test_low_confidence_answers_are_still_answers() -> None:
    assert validate("impact", "about ten orders a week", "nlu_fallback")[0] == {"impact": "about ten orders a week"}
    # A weak guess at a control intent is not obeyed: the answer is kept.
    for intent in ("goodbye", "skip", "stop_discovery", "insult"):
        assert validate("tried", "a newsletter swap", intent, confidence=0.4) == ({"tried": "a newsletter swap"}, [])


@pytest.mark.parametrize("intent", ["skip", "deny"])
def test_skip_and_dont_know_move_on(intent: str) -> None:
    assert validate("impact", "no idea", intent) == ({"impact": SKIPPED}, [])


def test_just_show_me_ends_discovery() -> None:
    assert validate("symptoms", "just show me", "stop_discovery")[0] == {
        "symptoms": SKIPPED, "impact": SKIPPED, "tried": SKIPPED
    }


def test_why_do_you_ask_explains_and_asks_again() -> None:
    assert validate("impact", "why do you need that", "why_do_you_ask") == ({"impact": None}, ["utter_why_ask_impact"])


def test_goodbye_ends_discovery_without_teaching() -> None:
    result, said = validate("tried", "bye", "goodbye")
    assert result == {"tried": SKIPPED, "teach_after_discovery": False}
    assert said == ["utter_goodbye"]


@pytest.mark.parametrize(
    "intent, response",
    [("bot_challenge", "utter_iamabot"), ("insult", "utter_insult"), ("other_language", "utter_english_only")],
)
def test_asides_are_answered_and_the_question_asked_again(intent: str, response: str) -> None:
    assert validate("symptoms", "...", intent) == ({"symptoms": None}, [response])


def test_a_question_mid_discovery_is_answered_then_discovery_resumes(indexed_db: str) -> None:
    result, said = validate("impact", "how do i stop emails going to spam", "ask_question", db_url=indexed_db)
    assert result["impact"] is None
    assert "utter_article" in said and said[-1] == "utter_back_to_discovery"
    assert result["current_article"] == "emails-going-to-spam"


def test_a_reset_is_not_taken_for_an_answer() -> None:
    validator = ValidateDiscoveryForm()
    tracker = make_tracker("our site is slow", intent="describe_problem", active_loop="discovery_form")
    result = asyncio.run(validator.validate_symptoms(None, CollectingDispatcher(), tracker, {}))
    assert result == {"symptoms": None}


def test_a_problem_stated_with_clear_buying_intent_gets_the_offer_not_questions(indexed_db: str) -> None:
    # The judgement needs the live index (the knowledge base's own service pages are one of its features).
    tracker = make_tracker("we're ready to hire you for our content marketing", intent="describe_problem")
    dispatcher, slots = run_action(ActionStartDiscovery(settings=with_db(indexed_db)), tracker)
    assert responses(dispatcher) == ["utter_offer_handoff"]
    assert slots["symptoms"] == slots["impact"] == slots["tried"] == SKIPPED
    assert slots["teach_after_discovery"] is False and slots["intent_level"] == "clear"
