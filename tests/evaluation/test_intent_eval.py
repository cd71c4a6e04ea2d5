"""The test sets are the files docs/handoff.md says they are: a set edited after it was frozen
(or written) no longer measures what its figures say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.evaluation.intent_eval import WAITING_SETS, frozen_files, recorded_digest, set_digest, set_files


def test_the_frozen_test_set_is_the_one_recorded() -> None:
    assert frozen_files() and set_digest(frozen_files()) == recorded_digest()


@pytest.mark.parametrize(("root", "pattern"), WAITING_SETS, ids=["next", "later"])
def test_each_waiting_test_set_is_the_one_recorded(root: Path, pattern: re.Pattern[str]) -> None:
    if not set_files(root):  # none written yet: docs/handoff.md records none either
        assert recorded_digest(pattern) is None
        return
    assert set_digest(set_files(root)) == recorded_digest(pattern)


def test_the_digest_covers_names_and_contents(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = tmp_path / "a.yml"
    a.write_text("- x\n")
    before = set_digest([a])
    a.write_text("- y\n")
    changed = set_digest([a])
    renamed = tmp_path / "b.yml"
    a.rename(renamed)
    assert len({before, changed, set_digest([renamed])}) == 3
