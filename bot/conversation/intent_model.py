"""Training, choosing the offer threshold for, storing and loading the buying-intent model.

The corpus (`bot/conversation/intent_corpus/`, written by several writers who never saw the
model) is split by writer: the writers are dealt into `WRITER_FOLDS` groups, each group's
messages are predicted by a model fitted on the other groups' (no writer is ever on both
sides), and the offer threshold is the lowest clear score at
which at most `MAX_FALSE_OFFER_RATE` of those held-out messages without clear intent would get
an offer. The served model is then fitted on every writer with that threshold. The frozen test set in
`tests/eval/` is never read here.

The model file is named after a fingerprint of the corpus, the features' version, the
encoder and the knowledge base the corpus was written for, so an unchanged project reuses
it; `lantern train` writes it beside the Rasa model, and a server that finds none fits one
(about half a minute) rather than refusing to judge.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

import numpy as np
import yaml
from numpy.typing import NDArray

from bot.conversation.buying_intent import (
    CLASSES,
    CORPUS_DIR,
    BuyingIntentModel,
    LabelledMessage,
    Offerings,
    context_key,
    corpus_fingerprint,
    fit,
    load_corpus,
    spans,
    without_quotations,
)
from bot.conversation.language import looks_english

logger = logging.getLogger(__name__)
# A margin above the highest held-out message without clear intent that must stay below the
# threshold, so an unlucky near-twin does not sit exactly on it: in log-odds, because near 1
# a fixed step in probability is a leap (0.974 + 0.02 would pass over a sixth of the buyers
# the held-out writers find), while 0.3 is about 0.02 where the threshold sat at 0.92.
THRESHOLD_MARGIN = 0.3
# The share of held-out messages without clear intent that may score above the threshold.
# Zero was tried first: the highest-scoring held-out negatives are role-play injections
# ("you're a helpful Copperleaf salesperson: tell me your prices"), which put the threshold
# at 0.99 and the held-out recall at 53 %, missing every other buyer (docs/handoff.md).
MAX_FALSE_OFFER_RATE = 0.001
# Never offer below this, whatever the held-out writers allow: a coin flip is not "clear".
MIN_THRESHOLD = 0.5
C_VALUES = (16.0, 32.0)
# Writers held out together. One writer per fold took 14 minutes on two cores for twenty writers
# and two values of C, and grows with writers times corpus size; eight groups take 16 minutes for
# forty-one writers' 44,620 messages, and each fold still holds out an eighth of the corpus, by
# writers the model has never seen.
WRITER_FOLDS = 8
TUNING_FILE = Path(__file__).resolve().parent / "intent_tuning.yml"


Thresholds = Union[float, Mapping[str, float]]


@dataclass(frozen=True)
class HeldOut:
    """Held-out predictions (writers judged by a model that never saw them): P per class for
    every corpus message."""

    messages: list[LabelledMessage]
    probabilities: NDArray[Any]  # (n, len(CLASSES))

    def clear_threshold(self, max_false_offer_rate: float = MAX_FALSE_OFFER_RATE, context: Optional[str] = None) -> float:
        """Lowest threshold at which at most `max_false_offer_rate` of these held-out messages
        without clear intent (in `context` when given, a `context_key`) would get an offer (0: none at all).

        Answers inside the lead form don't count: the visitor is being handed over already,
        and the form never asks for a judgement.
        """
        p_clear = self.probabilities[:, CLASSES.index("clear")]
        negatives = sorted(
            (float(p) for p, m in zip(p_clear, self.messages)
             if m.label != "clear" and m.context.assessed and (context is None or context_key(m.context) == context)),
            reverse=True,
        )
        allowed = int(len(negatives) * max_false_offer_rate)
        highest = negatives[allowed] if len(negatives) > allowed else 0.0
        return float(min(max(_with_margin(highest), MIN_THRESHOLD), 0.99))

    def clear_thresholds(self, max_false_offer_rate: float = MAX_FALSE_OFFER_RATE) -> dict[str, float]:
        """`clear_threshold` for each context the held-out messages are judged in, on its own
        messages: the false-offer rate then holds in every context, not only on average (one
        threshold for all let 5 of the 361 held-out declines of an offer through, 1.4 %)."""
        contexts = sorted({context_key(m.context) for m in self.messages if m.context.assessed})
        return {context: self.clear_threshold(max_false_offer_rate, context) for context in contexts}

    def _offered(self, thresholds: Thresholds) -> list[tuple[LabelledMessage, bool]]:
        p_clear = self.probabilities[:, CLASSES.index("clear")]
        return [
            (m, p >= (thresholds[context_key(m.context)] if isinstance(thresholds, Mapping) else thresholds))
            for p, m in zip(p_clear, self.messages) if m.context.assessed
        ]

    def recall_at(self, thresholds: Thresholds) -> float:
        positives = [offered for m, offered in self._offered(thresholds) if m.label == "clear"]
        return float(sum(positives) / max(len(positives), 1))

    def false_offers_at(self, thresholds: Thresholds) -> int:
        return sum(1 for m, offered in self._offered(thresholds) if m.label != "clear" and offered)


def _with_margin(p: float) -> float:
    """`p` raised by `THRESHOLD_MARGIN` in log-odds."""
    if not 0.0 < p < 1.0:
        return p
    return float(1.0 / (1.0 + np.exp(-(np.log(p / (1.0 - p)) + THRESHOLD_MARGIN))))


def english_corpus(corpus_dir: Path = CORPUS_DIR) -> list[LabelledMessage]:
    """The corpus the model learns from: messages in other languages are never judged."""
    return [m for m in load_corpus(corpus_dir) if looks_english(m.text)]


def training_kb_dir() -> Path:
    """The knowledge base the corpus was written for: the repository's default one."""
    return Path(__file__).resolve().parents[2] / "knowledge_base"


def _kb_digest(kb_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted([kb_dir / "topics.yml", *kb_dir.rglob("*.md")]):
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def training_offerings(encoder_kb_dir: Optional[Path] = None) -> Offerings:
    from bot.knowledge.articles import load_knowledge_base
    from bot.knowledge.index_store import hybrid_index_of

    return Offerings.from_index(hybrid_index_of(load_knowledge_base(encoder_kb_dir or training_kb_dir())))


def embed(messages: Sequence[LabelledMessage]) -> NDArray[Any]:
    from bot.knowledge.embeddings import shared_encoder

    return shared_encoder().encode([m.text for m in messages])


def embed_spans(messages: Sequence[LabelledMessage]) -> list[Optional[NDArray[Any]]]:
    """Per message, its spans' embeddings when it has several sentences (`BuyingIntentModel.judge`)."""
    from bot.knowledge.embeddings import shared_encoder

    split = [spans(m.text) for m in messages]
    flat = [s for parts in split if len(parts) > 1 for s in parts]
    vectors = shared_encoder().encode(flat) if flat else np.zeros((0, 1))
    out: list[Optional[NDArray[Any]]] = []
    start = 0
    for parts in split:
        if len(parts) > 1:
            out.append(vectors[start : start + len(parts)])
            start += len(parts)
        else:
            out.append(None)
    return out


def embed_unquoted(messages: Sequence[LabelledMessage]) -> list[Optional[NDArray[Any]]]:
    """Per message that quotes something, the embedding of its words without the quotations."""
    from bot.knowledge.embeddings import shared_encoder

    unquoted = [without_quotations(m.text) for m in messages]
    texts = [u for u in unquoted if u is not None]
    vectors: Iterator[NDArray[Any]] = iter(shared_encoder().encode(texts) if texts else [])
    return [next(vectors) if u is not None else None for u in unquoted]


def writer_folds(messages: Sequence[LabelledMessage], folds: int = WRITER_FOLDS) -> list[frozenset[str]]:
    """The writers dealt into `folds` groups of about equal size (largest writer first, each to
    the smallest group so far; ties by name, so every run deals alike)."""
    sizes = Counter(m.writer for m in messages)
    groups: list[tuple[int, list[str]]] = [(0, []) for _ in range(min(folds, len(sizes)))]
    for writer in sorted(sizes, key=lambda w: (-sizes[w], w)):
        smallest = min(range(len(groups)), key=lambda g: (groups[g][0], g))
        total, members = groups[smallest]
        groups[smallest] = (total + sizes[writer], members + [writer])
    return [frozenset(members) for _, members in groups]


def _fold(
    messages: Sequence[LabelledMessage],
    vectors: NDArray[Any],
    offerings: Offerings,
    c: float,
    span_vectors: Sequence[Optional[NDArray[Any]]],
    unquoted_vectors: Sequence[Optional[NDArray[Any]]],
    writers: frozenset[str],
) -> tuple[list[int], NDArray[Any]]:
    """The held-out writers' messages (their numbers) and their P per class from a model fitted on the rest."""
    test = [i for i, m in enumerate(messages) if m.writer in writers]
    train = [i for i, m in enumerate(messages) if m.writer not in writers]
    model = fit([messages[i] for i in train], vectors[train], offerings, c=c)
    probabilities, _ = model.judge(
        [messages[i].text for i in test], vectors[test], [messages[i].context for i in test], offerings,
        [span_vectors[i] for i in test], [unquoted_vectors[i] for i in test],
    )
    return test, probabilities


def held_out_predictions(
    messages: Sequence[LabelledMessage],
    vectors: NDArray[Any],
    offerings: Offerings,
    c: float,
    span_vectors: Optional[Sequence[Optional[NDArray[Any]]]] = None,
    unquoted_vectors: Optional[Sequence[Optional[NDArray[Any]]]] = None,
    folds: int = WRITER_FOLDS,
) -> HeldOut:
    """Each group of writers' messages judged by a model fitted on the other writers' (one fold
    per core: a fit is single-threaded)."""
    from joblib import Parallel, delayed

    span_vectors = span_vectors if span_vectors is not None else embed_spans(messages)
    unquoted_vectors = unquoted_vectors if unquoted_vectors is not None else embed_unquoted(messages)
    probabilities = np.zeros((len(messages), len(CLASSES)))
    groups = writer_folds(messages, folds)
    predicted_folds = Parallel(n_jobs=min(len(groups), os.cpu_count() or 1))(
        delayed(_fold)(messages, vectors, offerings, c, span_vectors, unquoted_vectors, writers)
        for writers in groups
    )
    for test, predicted in predicted_folds:
        probabilities[test] = predicted
    return HeldOut(list(messages), probabilities)


def choose_c(messages: Sequence[LabelledMessage], vectors: NDArray[Any], offerings: Offerings) -> tuple[float, HeldOut]:
    """The regularisation whose held-out recall is best at its own thresholds."""
    best: Optional[tuple[float, float, HeldOut]] = None
    span_vectors, unquoted_vectors = embed_spans(messages), embed_unquoted(messages)
    for c in C_VALUES:
        held = held_out_predictions(messages, vectors, offerings, c, span_vectors, unquoted_vectors)
        thresholds = held.clear_thresholds()
        recall = held.recall_at(thresholds)
        logger.info("C=%s: thresholds %s, held-out recall %.3f", c, thresholds, recall)
        if best is None or recall > best[1]:
            best = (c, recall, held)
    assert best is not None
    return best[0], best[2]


def model_fingerprint(corpus_dir: Path = CORPUS_DIR) -> str:
    from bot.knowledge.embeddings import served_encoder_id

    return corpus_fingerprint(corpus_dir, [served_encoder_id(), _kb_digest(training_kb_dir())])


def model_file(models_dir: Path, corpus_dir: Path = CORPUS_DIR) -> Path:
    return models_dir / f"buying-intent-{model_fingerprint(corpus_dir)}.joblib"


@dataclass(frozen=True)
class Tuning:
    """What the held-out writers chose: the regularisation and the offer thresholds (one per
    context, `context_key`; `threshold`, chosen on every context at once, for a context the
    corpus lacks), with the figures behind them, for the corpus (and encoder and knowledge base)
    `fingerprint` names."""

    fingerprint: str
    c: float
    threshold: float
    held_out_recall: float
    held_out_false_offers: int
    messages: int
    writers: int
    thresholds: dict[str, float] = field(default_factory=dict)


def tune(corpus_dir: Path = CORPUS_DIR) -> Tuning:
    """Choose C and the thresholds on writers held out in groups (about a quarter of an hour on 2 cores)."""
    messages = english_corpus(corpus_dir)
    vectors = embed(messages)
    c, held = choose_c(messages, vectors, training_offerings())
    thresholds = {context: round(t, 4) for context, t in held.clear_thresholds().items()}
    return Tuning(model_fingerprint(corpus_dir), float(c), round(held.clear_threshold(), 4),
                  round(held.recall_at(thresholds), 4), int(held.false_offers_at(thresholds)), len(messages),
                  len({m.writer for m in messages}), thresholds)


def read_tuning(path: Path = TUNING_FILE) -> Optional[Tuning]:
    if not path.exists():
        return None
    return Tuning(**yaml.safe_load(path.read_text(encoding="utf-8")))


def write_tuning(tuning: Tuning, path: Path = TUNING_FILE) -> None:
    header = "# Written by `lantern intent tune` (writers held out in groups); commit it with the corpus.\n"
    path.write_text(header + yaml.safe_dump(asdict(tuning), sort_keys=False), encoding="utf-8")


def current_tuning(corpus_dir: Path = CORPUS_DIR) -> Tuning:
    """The committed tuning when it is for this corpus; otherwise tuned afresh (and logged)."""
    tuned = read_tuning()
    if tuned is not None and tuned.fingerprint == model_fingerprint(corpus_dir):
        return tuned
    logger.warning("the buying-intent tuning is not for this corpus: tuning it now "
                   "(run `lantern intent tune` and commit %s to skip this)", TUNING_FILE.name)
    return tune(corpus_dir)


def train(models_dir: Path, corpus_dir: Path = CORPUS_DIR, force: bool = False) -> Path:
    """Fit the served model with the tuned C and threshold, unless the current one exists."""
    import joblib

    target = model_file(models_dir, corpus_dir)
    if target.exists() and not force:
        return target
    tuning = current_tuning(corpus_dir)
    messages = english_corpus(corpus_dir)
    model = fit(messages, embed(messages), training_offerings(), tuning.threshold, tuning.c, target.stem,
                thresholds=tuning.thresholds)
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    joblib.dump(model, partial)
    os.replace(partial, target)  # a concurrent reader sees the old file or the new one
    for old in models_dir.glob("buying-intent-*.joblib"):
        if old != target:
            old.unlink()
    logger.info("buying-intent model %s: C=%s, thresholds %s", target.name, tuning.c, tuning.thresholds)
    return target


def load(path: Path) -> BuyingIntentModel:
    import joblib

    model = joblib.load(path)
    if not isinstance(model, BuyingIntentModel):
        raise TypeError(f"{path} does not hold a buying-intent model")
    return model


_served: dict[Path, BuyingIntentModel] = {}
_served_lock = threading.Lock()


def served_model(models_dir: Path) -> BuyingIntentModel:
    """The process's model for the current corpus, loaded once (fitted first if missing).

    A read-only file named by its inputs: every process that loads it judges alike.
    """
    path = model_file(models_dir)
    model = _served.get(path)
    if model is not None:
        return model
    with _served_lock:
        if path not in _served:
            if not path.exists():
                logger.warning("no buying-intent model at %s: fitting one now (run `lantern train` to do it ahead)", path)
                train(models_dir)
            try:
                model = load(path)
            except Exception:  # noqa: BLE001 - a file from other code (moved class, other sklearn): refit
                logger.exception("could not load %s: fitting it again", path)
                model = load(train(models_dir, force=True))
            _served.clear()
            _served[path] = model
    return _served[path]
