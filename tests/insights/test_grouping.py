"""Grouping a fixed set of visitor questions by meaning, with the real MiniLM encoder."""

from __future__ import annotations

import numpy as np
import pytest

from bot.insights.grouping import group_by_meaning, vectors_of
from bot.knowledge.embeddings import shared_encoder

QUESTIONS = [
    ("how do i get backlinks to my site?", 5),
    ("how can we earn links from other websites?", 2),
    ("what is the best way to build backlinks?", 3),
    ("how many hashtags should i use on instagram?", 4),
    ("do hashtags still work on instagram?", 1),
    ("what's a good recipe for banana bread?", 2),
    ("how do i increase my credit card limit?", 1),
]


@pytest.fixture(scope="module")
def encoder():
    return shared_encoder()


def test_phrasings_of_one_question_group_together_and_apart_from_others(encoder) -> None:
    groups = group_by_meaning(QUESTIONS, encoder)
    by_label = {g.label: sorted(g.texts) for g in groups}
    assert by_label["how do i get backlinks to my site?"] == sorted(
        ["how do i get backlinks to my site?", "what is the best way to build backlinks?", "how can we earn links from other websites?"]
    )
    assert by_label["how many hashtags should i use on instagram?"] == sorted(
        ["how many hashtags should i use on instagram?", "do hashtags still work on instagram?"]
    )
    assert {"what's a good recipe for banana bread?", "how do i increase my credit card limit?"} <= set(by_label)
    assert [g.count for g in groups][:2] == [10, 5]  # most asked first, counts summed


def test_grouping_is_deterministic_and_keys_are_stable(encoder) -> None:
    first = group_by_meaning(QUESTIONS, encoder)
    second = group_by_meaning(list(reversed(QUESTIONS)), encoder)
    assert [(g.key, g.texts) for g in first] == [(g.key, g.texts) for g in second]


def test_vectors_are_cached_by_text(encoder) -> None:
    class Counting:
        calls = 0

        def encode(self, texts):
            Counting.calls += len(texts)
            return encoder.encode(texts)

        encode_query = None

    texts = ["a question only this test asks about ferrets", "a question only this test asks about ferrets"]
    first = vectors_of(Counting(), texts)
    again = vectors_of(Counting(), texts[:1])
    assert Counting.calls == 1 and np.allclose(first[0], again[0])
