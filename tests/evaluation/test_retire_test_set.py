from pathlib import Path

import pytest
import yaml

from bot.conversation.buying_intent import read_corpus_file
from bot.evaluation.retire_test_set import corpus_items, write_corpus


def row(id_: str, category: str, turn: int, text: str, prompt: str = "greeting", clear: bool = False,
        declined: bool = False) -> dict:
    return {"id": id_, "category": category, "turn": turn, "text": text, "bot_prompt": prompt,
            "declined_before": declined, "clear": clear, "offered": False}


def always(pick: str):  # type: ignore[no-untyped-def]
    calls: list[tuple[list[str], tuple[str, ...]]] = []

    def choose(texts, contexts, classes):  # type: ignore[no-untyped-def]
        calls.append((texts, classes))
        return [pick if pick in classes else classes[0] for _ in texts]

    choose.calls = calls  # type: ignore[attr-defined]
    return choose


def test_marked_turns_are_clear_and_the_rest_take_their_conversations_category() -> None:
    rows = [
        row("t9-001", "market-prices", 0, "what do agencies charge for seo?"),
        row("t9-001", "market-prices", 1, "ok and what would you charge us?", "answered", clear=True),
        row("t9-001", "market-prices", 2, "Yes, connect me", "offer"),
        row("t9-001", "market-prices", 3, "Ana", "lead_name"),
        row("t9-002", "information", 0, "our traffic fell"),
        row("t9-002", "information", 1, "since may", "ask_symptoms"),
        row("t9-002", "information", 2, "no thanks", "offer"),
        row("t9-002", "information", 3, "what else could it be?", "answered"),
        row("g9-part-01-0", "general:small-talk", 0, "how are you"),
    ]
    items = corpus_items(rows, always("none"))
    t9 = items["t9"]
    assert [(i["label"], i["category"]) for i in t9] == [
        ("none", "market_prices"), ("clear", "clear_retired"), ("clear", "accepted_offer"), ("none", "answer"),
        ("none", "problem"), ("none", "answer"), ("none", "answer"), ("none", "answer"),
    ]
    assert t9[3]["bot_prompt"] == "lead_name"
    assert items["g9"] == [{"text": "how are you", "label": "none", "category": "small_talk", "topic": "off-domain",
                            "bot_prompt": "greeting", "declined_before": False}]


def test_a_yes_the_lead_form_follows_is_clear_whatever_prompt_was_recorded_before_it() -> None:
    # An offer added to an answer is recorded as `answered`: the yes to it is still wanting to talk.
    rows = [
        row("t9-006", "information", 0, "our ads stopped converting"),
        row("t9-006", "information", 1, "Yes, connect me", "answered"),
        row("t9-006", "information", 2, "Ana", "lead_name"),
        row("t9-006", "information", 3, "ana@example.com", "lead_email"),
    ]
    items = corpus_items(rows, always("none"))["t9"]
    assert [(i["label"], i["category"]) for i in items] == [
        ("none", "problem"), ("clear", "accepted_offer"), ("none", "answer"), ("none", "answer"),
    ]


def test_the_model_only_chooses_among_classes_that_are_not_clear() -> None:
    rows = [
        row("t9-003", "interest", 0, "do you do local seo?"),
        row("t9-004", "other-purchase", 0, "which laptop should i buy?"),
        row("t9-004", "other-purchase", 1, "thanks", "answered"),
        row("t9-005", "clear-after-interest", 0, "do you do ads?"),
        row("t9-005", "clear-after-interest", 1, "price for ads?", "answered", clear=True),
    ]
    choose = always("elsewhere")
    items = corpus_items(rows, choose)["t9"]
    assert all("clear" not in classes for _, classes in choose.calls)
    assert [(i["label"], i["category"]) for i in items] == [
        ("none", "interest_services"), ("none", "other_purchase"), ("none", "other_purchase"),
        ("none", "interest_services"), ("clear", "clear_retired"),
    ]
    items = corpus_items(rows, always("interest"))["t9"]
    assert [i["label"] for i in items] == ["interest", "none", "none", "interest", "clear"]
    assert [i["category"] for i in items][1:3] == ["answer", "answer"]  # not bought elsewhere after all


def test_written_files_load_as_the_corpus_and_are_never_overwritten(tmp_path: Path) -> None:
    items = corpus_items([row("t9-001", "negated", 0, "no sales call please, just tips")], always("none"))
    [path] = write_corpus(items, tmp_path)
    assert path.name == "t9-part-01.yml"
    [message] = read_corpus_file(path, "t9")
    assert (message.label, message.category, message.writer) == ("none", "negation", "t9")
    assert yaml.safe_load(path.read_text())[0]["text"] == "no sales call please, just tips"
    with pytest.raises(FileExistsError):
        write_corpus(items, tmp_path)
