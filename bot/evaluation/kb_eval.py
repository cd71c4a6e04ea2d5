"""`make eval-kb`: search quality and latency on the labelled visitor queries.

Prints recall@1, recall@3, MRR, the rejection rate of off-domain queries and search
latency, on the whole set and on the held-out two thirds not used to tune thresholds,
then latency on a synthetic index of 10,000 passages.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import yaml

from bot.knowledge.articles import load_knowledge_base
from bot.knowledge.search import MIN_COVERAGE, IndexedArticle, PassageIndex

QUERIES = Path(__file__).resolve().parents[2] / "tests" / "eval" / "kb_queries.yml"


@dataclass(frozen=True)
class Query:
    text: str
    expect: tuple[str, ...]
    style: str

    @property
    def off_domain(self) -> bool:
        return not self.expect


@dataclass(frozen=True)
class Scores:
    recall_at_1: float
    recall_at_3: float
    mrr: float
    in_domain_answered: float
    off_domain_rejected: float
    n_in: int
    n_off: int


def load_queries(path: Path = QUERIES) -> list[Query]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Query(q["text"], tuple(q["expect"]), q["style"]) for q in data["queries"]]


def tuning_split(queries: Sequence[Query]) -> tuple[list[Query], list[Query]]:
    """Every third query tunes thresholds; the other two thirds are held out."""
    return [q for i, q in enumerate(queries) if i % 3 == 0], [q for i, q in enumerate(queries) if i % 3 != 0]


def evaluate(index: PassageIndex, queries: Sequence[Query], min_coverage: float = MIN_COVERAGE) -> Scores:
    hits1 = hits3 = answered = rejected = 0
    reciprocal = 0.0
    in_domain = [q for q in queries if not q.off_domain]
    off_domain = [q for q in queries if q.off_domain]
    for query in in_domain:
        ids = [r.id for r in index.search(query.text, k=10, min_coverage=min_coverage)]
        answered += bool(ids)
        rank = next((i for i, article_id in enumerate(ids, 1) if article_id in query.expect), None)
        if rank:
            hits1 += rank == 1
            hits3 += rank <= 3
            reciprocal += 1 / rank
    for query in off_domain:
        rejected += not index.search(query.text, k=3, min_coverage=min_coverage)
    n_in, n_off = max(len(in_domain), 1), max(len(off_domain), 1)
    return Scores(
        hits1 / n_in, hits3 / n_in, reciprocal / n_in, answered / n_in, rejected / n_off, len(in_domain), len(off_domain)
    )


def tune(index: PassageIndex, queries: Sequence[Query]) -> None:
    """Print the trade-off between answering and rejecting for a range of coverage thresholds."""
    for threshold in [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65]:
        print_scores(f"  min_coverage {threshold:.2f}", evaluate(index, queries, threshold))


def latency_ms(index: PassageIndex, texts: Sequence[str], repeats: int = 5) -> tuple[float, float]:
    timings = []
    for _ in range(repeats):
        for text in texts:
            start = time.perf_counter()
            index.search(text, k=3)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def synthetic_index(
    articles: Sequence[IndexedArticle], index_synonyms: dict[str, str], passages: int = 10_000, seed: int = 7
) -> PassageIndex:
    """An index of `passages` sections made by reshuffling sentences of the real ones."""
    rng = random.Random(seed)
    sentences = [s.strip() for a in articles for _, text in a.sections for s in text.split(".") if len(s.split()) > 3]
    per_article = 5
    synthetic = []
    for number in range(passages // per_article):
        base = articles[number % len(articles)]
        sections = tuple(
            (f"Section {n}", ". ".join(rng.sample(sentences, 6)) + ".") for n in range(per_article)
        )
        synthetic.append(replace(base, id=f"{base.id}-{number}", sections=sections))
    return PassageIndex(synthetic, index_synonyms)


def print_scores(label: str, scores: Scores) -> None:
    print(
        f"{label:<22} recall@1 {scores.recall_at_1:.3f}  recall@3 {scores.recall_at_3:.3f}  "
        f"MRR {scores.mrr:.3f}  answered {scores.in_domain_answered:.3f} ({scores.n_in} in-domain)  "
        f"off-domain rejected {scores.off_domain_rejected:.3f} ({scores.n_off})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb-dir", type=Path, default=Path("knowledge_base"))
    parser.add_argument("--tune", action="store_true", help="search the threshold grid on the tuning split")
    parser.add_argument("--no-synthetic", action="store_true", help="skip the 10,000-passage latency run")
    args = parser.parse_args(argv)

    kb = load_knowledge_base(args.kb_dir)
    if not kb.ok:
        raise SystemExit(f"{len(kb.problems)} problem(s) in {args.kb_dir}: run `lantern kb check`")
    index = PassageIndex.from_knowledge_base(kb)
    queries = load_queries()
    tuning, held_out = tuning_split(queries)
    print(f"knowledge base: {len(kb.articles)} articles, {len(index)} indexed passages; {len(queries)} queries")
    if args.tune:
        print("coverage thresholds on the tuning split:")
        tune(index, tuning)
    print(f"threshold in use: min_coverage={MIN_COVERAGE}")
    print_scores("all queries", evaluate(index, queries))
    print_scores("held-out (2/3)", evaluate(index, held_out))
    print_scores("tuning split (1/3)", evaluate(index, tuning))
    print_scores("ranking only, no threshold", evaluate(index, queries, 0.0))
    by_style: dict[str, list[Query]] = {}
    for query in queries:
        by_style.setdefault(query.style, []).append(query)
    for style, group in sorted(by_style.items()):
        print_scores(f"  style {style}", evaluate(index, group))
    p50, p95 = latency_ms(index, [q.text for q in queries])
    print(f"latency ({len(index)} passages): p50 {p50:.2f} ms  p95 {p95:.2f} ms")
    print("targets: recall@3 >= 0.90, MRR >= 0.80, off-domain rejection >= 0.90, p95 <= 20 ms")
    if not args.no_synthetic:
        start = time.perf_counter()
        big = synthetic_index(index.articles, index.synonyms)
        built = time.perf_counter() - start
        p50, p95 = latency_ms(big, [q.text for q in queries], repeats=2)
        print(f"latency ({len(big)} synthetic passages, built in {built:.1f} s): p50 {p50:.2f} ms  p95 {p95:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
