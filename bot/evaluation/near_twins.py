"""Near-twins between the buying-intent corpus's writers, and between the corpus and the test set.

Split by writer means a held-out writer's messages were never seen in training; two writers
who happened to write the same sentence undo that, and so does a training message that is a
test message in other words. A near-twin is a pair of messages whose MiniLM embeddings have a
cosine of at least 0.95 (messages of four words or more: "yes" and "how much?" are everyone's),
or the same text up to case, spaces and punctuation (four words or more too). The corpus copy is the one removed: the
frozen test set is never edited, and between two writers the one who joined later gives way.

    python -m bot.evaluation.near_twins            # report
    python -m bot.evaluation.near_twins --remove   # and remove them from the corpus files
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml
from numpy.typing import NDArray

from bot.conversation.buying_intent import CORPUS_DIR

COSINE = 0.95
MIN_WORDS = 4
_BLOCK = 2048
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Item:
    path: Path
    number: int
    text: str
    writer: str


def normalised(text: str) -> str:
    return _NOT_WORD.sub(" ", text.lower()).strip()


def _writer_order(path: Path) -> tuple[str, int, str]:
    """Files in the order their writers joined: "w3" before "w27", which a plain sort turns round."""
    writer, _, part = path.name.partition("-")
    letters = writer.rstrip("0123456789")
    return letters, int(writer[len(letters):] or 0), part


def corpus_items(corpus_dir: Path = CORPUS_DIR) -> list[Item]:
    items = []
    for path in sorted(corpus_dir.glob("*.yml"), key=_writer_order):
        for number, entry in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            items.append(Item(path, number, str(entry["text"]), path.name.split("-", 1)[0]))
    return items


def test_texts() -> list[str]:
    """The frozen test set's messages, and the waiting ones' (written, not yet in use)."""
    from bot.evaluation.intent_eval import (
        GENERAL_SET_DIR,
        TEST_SET_DIR,
        WAITING_SETS,
        load_conversations,
        load_general_requests,
    )

    conversations, general = [], []
    for root in (TEST_SET_DIR.parent, *(waiting for waiting, _ in WAITING_SETS)):
        conversations += load_conversations(sorted((root / TEST_SET_DIR.name).glob("*.yml")))
        general += load_general_requests(sorted((root / GENERAL_SET_DIR.name).glob("*.yml")))
    return [turn for c in [*conversations, *general] for turn in c.turns]


def twins(items: Sequence[Item], vectors: NDArray[Any], tests: Sequence[str], test_vectors: NDArray[Any]) -> list[Item]:
    """Corpus items to remove: twins of a test message, or of an earlier writer's message."""
    long_item = np.array([len(i.text.split()) >= MIN_WORDS for i in items], dtype=bool)
    long_test = np.array([len(t.split()) >= MIN_WORDS for t in tests], dtype=bool)
    test_keys = {normalised(t) for t in tests}
    removed: set[int] = set()
    if len(tests):
        close_to_test = (vectors @ test_vectors[long_test].T).max(axis=1, initial=-1.0) >= COSINE
        removed |= {n for n, item in enumerate(items)
                    if long_item[n] and (normalised(item.text) in test_keys or close_to_test[n])}
    writers = [i.writer for i in items]
    first_seen: dict[str, int] = {}
    for n, item in enumerate(items):
        key = normalised(item.text)
        if key in first_seen and writers[first_seen[key]] != item.writer and len(key.split()) >= MIN_WORDS:
            removed.add(n)
        first_seen.setdefault(key, n)
    # Row blocks of the similarity matrix: the whole of it for forty thousand messages is 6 GB,
    # and a product that size crashed the BLAS.
    for start in range(0, len(items), _BLOCK):
        similarity = vectors[start : start + _BLOCK] @ vectors[: start + _BLOCK].T
        for n in range(start, min(start + _BLOCK, len(items))):
            if n in removed or not long_item[n]:
                continue
            earlier = np.where((similarity[n - start, :n] >= COSINE) & long_item[:n])[0]
            if any(writers[e] != writers[n] and e not in removed for e in earlier):
                removed.add(n)
    return [items[n] for n in sorted(removed)]


def remove(found: Sequence[Item]) -> None:
    by_file: dict[Path, set[int]] = {}
    for item in found:
        by_file.setdefault(item.path, set()).add(item.number)
    for path, numbers in by_file.items():
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
        kept = [e for n, e in enumerate(entries) if n not in numbers]
        path.write_text(yaml.safe_dump(kept, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    from bot.knowledge.embeddings import shared_encoder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--remove", action="store_true", help="remove the corpus copies")
    args = parser.parse_args(argv)
    items, tests = corpus_items(), test_texts()
    encoder = shared_encoder()
    found = twins(items, encoder.encode([i.text for i in items]), tests, encoder.encode(tests))
    for item in found:
        print(f"{item.path.name}:{item.number}: {item.text[:100]}")
    print(f"{len(found)} near-twins in {len(items)} corpus messages ({len(tests)} test messages)")
    if args.remove:
        remove(found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
