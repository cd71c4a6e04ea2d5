from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.evaluation.near_twins import Item, corpus_items, remove, twins


def unit(*rows: list[float]) -> np.ndarray:
    m = np.array(rows, dtype=float)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_twins_of_a_test_message_or_of_an_earlier_writer_are_found_short_common_replies_are_not() -> None:
    items = [
        Item(Path("w1-part-01.yml"), 0, "how much do you charge for seo audits", "w1"),
        Item(Path("w2-part-01.yml"), 0, "How much do you charge for SEO audits?", "w2"),  # same text, other writer
        Item(Path("w2-part-01.yml"), 1, "what would an seo audit cost with you", "w2"),  # close to w1's, same meaning
        Item(Path("w3-part-01.yml"), 0, "our traffic fell off a cliff in may", "w3"),  # close to a test message
        Item(Path("w3-part-01.yml"), 1, "Not really", "w3"),  # in the test set too, but everyone says it
        Item(Path("w1-part-01.yml"), 1, "what would an seo audit cost for us", "w1"),  # same writer as its twin
    ]
    vectors = unit([1, 0, 0], [1, 0, 0], [0.99, 0.05, 0], [0, 1, 0], [0, 0, 1], [0.99, 0.06, 0])
    tests = ["traffic dropped off a cliff in may", "not really"]
    found = twins(items, vectors, tests, unit([0, 1, 0.02], [0, 0, 1]))
    assert [(i.writer, i.number) for i in found] == [("w2", 0), ("w2", 1), ("w3", 0)]


def test_twins_across_blocks_of_the_similarity_matrix_are_found_as_within_one(monkeypatch) -> None:
    import bot.evaluation.near_twins as near_twins

    items = [Item(Path(f"w{n % 3}-part-01.yml"), n, f"message number {n} of the corpus", f"w{n % 3}") for n in range(7)]
    vectors = unit([1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0.01], [1, 0.01, 0], [0, 0.01, 1], [0, 1, 0])
    whole = twins(items, vectors, [], np.zeros((0, 3)))
    monkeypatch.setattr(near_twins, "_BLOCK", 2)
    assert twins(items, vectors, [], np.zeros((0, 3))) == whole
    # 3 and 6 (w0) twin 1 (w1), 4 (w1) twins 0 (w0); 5 twins only 2, by its own writer (w2).
    assert [i.number for i in whole] == [3, 4, 6]


def test_removal_edits_only_the_corpus_files_items(tmp_path: Path) -> None:
    path = tmp_path / "w1-part-01.yml"
    path.write_text(yaml.safe_dump([{"text": "a", "label": "none"}, {"text": "b", "label": "clear"}]))
    [first, second] = corpus_items(tmp_path)
    remove([first])
    assert yaml.safe_load(path.read_text()) == [{"text": "b", "label": "clear"}]
    assert second.text == "b"


def test_corpus_files_are_read_in_the_order_their_writers_joined(tmp_path: Path) -> None:
    for name in ("w27-part-01.yml", "w3-part-02.yml", "t1-part-01.yml", "w3-part-01.yml"):
        (tmp_path / name).write_text(yaml.safe_dump([{"text": name, "label": "none"}]))
    # A plain sort puts w27 before w3, and near_twins would then keep w27's copy of a twin.
    assert [i.text for i in corpus_items(tmp_path)] == [
        "t1-part-01.yml", "w3-part-01.yml", "w3-part-02.yml", "w27-part-01.yml"]


@pytest.mark.parametrize("waiting", [0, 1], ids=["next", "later"])
def test_each_waiting_test_set_is_kept_out_of_the_corpus_too(waiting, tmp_path, monkeypatch) -> None:
    import bot.evaluation.intent_eval as intent_eval
    from bot.evaluation.near_twins import test_texts

    (tmp_path / "intent_test").mkdir()
    (tmp_path / "intent_test" / "t9-part-01.yml").write_text(
        '- {id: t9-001, category: information, turns: ["our bakery newsletter gets no opens since june"], '
        "clear_turns: [], decline_turn: null}\n", encoding="utf-8")
    (tmp_path / "general_requests").mkdir()
    (tmp_path / "general_requests" / "g9-part-01.yml").write_text(
        "- {text: set an alarm for half six tomorrow, category: timers}\n", encoding="utf-8")
    def with_root(root: Path) -> tuple:
        sets = list(intent_eval.WAITING_SETS)
        sets[waiting] = (root, sets[waiting][1])
        return tuple(sets)

    monkeypatch.setattr(intent_eval, "WAITING_SETS", with_root(tmp_path / "none written yet"))
    before = test_texts()
    monkeypatch.setattr(intent_eval, "WAITING_SETS", with_root(tmp_path))
    after = test_texts()
    assert len(after) == len(before) + 2
    assert "our bakery newsletter gets no opens since june" in after
    assert "set an alarm for half six tomorrow" in after
