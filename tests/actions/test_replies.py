from bot.actions.replies import REPLIES, ActionReply
from tests.actions.conftest import make_tracker, responses, run_action, with_db


def test_small_talk_gets_its_fixed_reply() -> None:
    for intent, response in REPLIES.items():
        dispatcher, slots = run_action(ActionReply(), make_tracker("hello there", intent=intent))
        assert responses(dispatcher) == [response] and slots == {}


def test_clear_buying_words_win_over_the_nlu_label(indexed_db: str) -> None:
    tracker = make_tracker("thanks! can you send me a quote for this?", intent="thank")
    dispatcher, slots = run_action(ActionReply(settings=with_db(indexed_db)), tracker)
    assert responses(dispatcher) == ["utter_offer_handoff"]
    assert slots["intent_evidence"] == "can you send me a quote for this?"
