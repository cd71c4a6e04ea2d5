"""The test sets are the files docs/handoff.md says they are: a set edited after it was frozen
(or written) no longer measures what its figures say."""

from __future__ import annotations

from bot.evaluation.intent_eval import WAITING_HASH, frozen_files, recorded_digest, set_digest, waiting_files


def test_the_frozen_test_set_is_the_one_recorded() -> None:
    assert frozen_files() and set_digest(frozen_files()) == recorded_digest()


def test_the_waiting_test_set_is_the_one_recorded() -> None:
    if not waiting_files():  # none written yet: docs/handoff.md records none either
        assert recorded_digest(WAITING_HASH) is None
        return
    assert set_digest(waiting_files()) == recorded_digest(WAITING_HASH)


def test_the_digest_covers_names_and_contents(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = tmp_path / "a.yml"
    a.write_text("- x\n")
    before = set_digest([a])
    a.write_text("- y\n")
    changed = set_digest([a])
    renamed = tmp_path / "b.yml"
    a.rename(renamed)
    assert len({before, changed, set_digest([renamed])}) == 3
