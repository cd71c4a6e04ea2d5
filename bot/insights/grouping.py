"""Visitors' phrasings grouped by meaning, with the sentence encoder search already uses.

Ten visitors ask "how do I get backlinks" ten ways; the marketing team wants one line with
a count and a few of the phrasings. Grouping is greedy and deterministic: texts are taken
most frequent first, and each joins the first group whose leading phrasing it is close
enough to (cosine similarity of MiniLM vectors), or starts a new group. Vectors are cached
per process by text, so a dashboard page encodes only texts it has not seen before.

Off-domain questions (recipes, credit cards) are kept apart: a group whose leading phrasing
is far from every article of the knowledge base is off-domain.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol, Sequence

import numpy as np
from numpy.typing import NDArray

# Cosine at or above which two phrasings ask the same thing: phrasings of one question measured
# 0.37-0.68 with MiniLM, unrelated questions under 0.2 (tests/insights/test_grouping.py).
SAME_MEANING = 0.45
# Best cosine of any of a group's phrasings to any indexed text under which the group is off-domain:
# measured on the demo questions, in-field ones 0.34-0.59, a leaking tap 0.28, a credit card 0.30.
OFF_DOMAIN_BELOW = 0.32
EXAMPLES = 4


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> NDArray[Any]: ...


@dataclass
class Group:
    """Phrasings that ask the same thing; `texts` most frequent first."""

    texts: list[str]
    count: int
    vector: NDArray[Any]
    counts: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.texts[0]

    @property
    def examples(self) -> list[str]:
        return self.texts[:EXAMPLES]

    @property
    def key(self) -> str:
        """Stable across page loads while its leading phrasing leads: suggestions are filed under it."""
        return hashlib.sha256(self.label.encode()).hexdigest()[:16]


_cache: dict[str, NDArray[Any]] = {}
_cache_lock = threading.Lock()
MAX_CACHED = 50_000


def vectors_of(encoder: Encoder, texts: Sequence[str]) -> NDArray[Any]:
    """Unit vectors of `texts`, encoding only those not cached yet."""
    missing = [t for t in dict.fromkeys(texts) if t not in _cache]
    if missing:
        encoded = encoder.encode(missing)
        with _cache_lock:
            if len(_cache) + len(missing) > MAX_CACHED:
                _cache.clear()
            _cache.update(zip(missing, encoded))
    return np.stack([_cache[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


def group_by_meaning(
    counted: Sequence[tuple[str, int]], encoder: Encoder, threshold: float = SAME_MEANING
) -> list[Group]:
    """Group (text, count) pairs; groups by total count, most first."""
    ordered = sorted(counted, key=lambda pair: (-pair[1], pair[0]))
    vectors = vectors_of(encoder, [text for text, _ in ordered])
    groups: list[Group] = []
    leaders = np.zeros((0, vectors.shape[1] if len(vectors) else 384), dtype=np.float32)
    for (text, count), vector in zip(ordered, vectors):
        if len(groups):
            similarities = leaders @ vector
            best = int(np.argmax(similarities))
            if similarities[best] >= threshold:
                groups[best].texts.append(text)
                groups[best].counts.append(count)
                groups[best].count += count
                continue
        groups.append(Group([text], count, vector, [count]))
        leaders = np.vstack([leaders, vector[None, :]])
    return sorted(groups, key=lambda g: (-g.count, g.label))


def nearest(
    group: Group, article_matrix: NDArray[Any], article_ids: Sequence[str]
) -> tuple[Optional[str], float]:
    """The article nearest to a group's leading phrasing and its cosine similarity."""
    if not len(article_ids):
        return None, -1.0
    similarities = article_matrix @ group.vector
    best = int(np.argmax(similarities))
    return article_ids[best], float(similarities[best])
