"""`make eval-dense`: does a sentence-embedding model improve knowledge-base search?

Compares, on the labelled queries of `make eval-kb` and with the same scoring:

- `bm25`: search as shipped (BM25, coverage threshold MIN_COVERAGE);
- `dense`: articles ranked by cosine similarity alone, answered above a cosine threshold;
- `bm25 + dense gate`: BM25's ranking, but an article is only returned when its cosine
  similarity to the query also reaches a threshold (meaning, not just shared words);
- `rrf + dense gate`: BM25 and dense rankings fused by reciprocal rank, same two gates.

An article's cosine similarity is the best over its documents: its overview, each
section, and (variant `+asks`) each of its `asks` phrases on its own. Thresholds are
chosen on the tuning third only (maximising recall@3 + off-domain rejection, ties by
MRR); the held-out two thirds are reported separately.

`--encoder onnx` (default) runs the model as the product does (bot/knowledge/embeddings.py,
ONNX Runtime, int8 weights); `--encoder onnx-float32` runs the float32 graph it was
quantised from; `--encoder numpy` runs the reference numpy implementation
(bot/evaluation/embeddings.py). The variant the product adopted, `rrf + dense gate` with
`asks`, is implemented for serving in bot/knowledge/search.py; `make eval-kb` measures it
there, through the product's code path.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Protocol, Sequence

import numpy as np
import psutil

from bot.evaluation.embeddings import NumpySentenceEncoder
from bot.evaluation.kb_eval import Query, Scores, load_queries, print_scores, score_rankings, tuning_split
from bot.knowledge.articles import load_knowledge_base
from bot.knowledge.embeddings import DIMENSION, SentenceEncoder, installed_model_dir
from bot.knowledge.search import MIN_COVERAGE, PassageIndex, embedded_texts


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


ENCODERS: dict[str, Callable[[], Encoder]] = {
    "onnx": SentenceEncoder.from_installed_package,  # what the product runs
    "onnx-float32": lambda: SentenceEncoder.from_installed_package(quantized=False),
    "numpy": NumpySentenceEncoder.from_installed_package,  # the reference implementation
}

# Reciprocal-rank fusion constant: the usual 60 lets the top of both lists count, not only rank 1.
RRF_K = 60
COVERAGE_GRID = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5)
COSINE_GRID = tuple(round(0.15 + 0.025 * i, 3) for i in range(19))  # 0.15 .. 0.60


@dataclass(frozen=True)
class Evidence:
    """Everything the variants need about one query, computed once."""

    lexical: dict[str, tuple[float, float]]  # article id -> (BM25 score, coverage), no threshold applied
    cosine: dict[str, float]  # article id -> best cosine similarity over its documents


@dataclass(frozen=True)
class Variant:
    name: str
    answer: Callable[[Evidence, float, float], list[str]]  # (evidence, coverage, cosine) -> ids
    tuned_coverage: bool  # whether the coverage threshold is searched or fixed at MIN_COVERAGE
    tuned_cosine: bool


def dense_documents(index: PassageIndex, with_asks: bool) -> tuple[list[str], list[int]]:
    """The texts to embed and, for each, the number of its article in `index.articles`:
    what the product embeds (`embedded_texts`), or only the BM25 documents without `asks`."""
    embedded = embedded_texts(index.articles)
    chosen = embedded if with_asks else embedded[: len(index.docs)]
    return [text for _, text in chosen], [n for n, _ in chosen]


def best_per_article(similarities: np.ndarray, owners: np.ndarray, n_articles: int) -> np.ndarray:
    best = np.full(n_articles, -1.0, dtype=np.float32)
    np.maximum.at(best, owners, similarities)
    return best


def gather(
    index: PassageIndex, queries: Sequence[Query], query_vectors: np.ndarray, doc_vectors: np.ndarray, owners: np.ndarray
) -> dict[str, Evidence]:
    visible = [n for n, a in enumerate(index.articles) if index.may_show(a)]
    evidence = {}
    for query, vector in zip(queries, query_vectors):
        lexical = {r.id: (r.score, r.coverage) for r in index.search(query.text, k=len(index.articles), min_coverage=0)}
        best = best_per_article(doc_vectors @ vector, owners, len(index.articles))
        evidence[query.text] = Evidence(lexical, {index.articles[n].id: float(best[n]) for n in visible})
    return evidence


def bm25_only(e: Evidence, coverage: float, cosine: float) -> list[str]:
    return [i for i, (_, c) in e.lexical.items() if c >= coverage][:10]


def dense_only(e: Evidence, coverage: float, cosine: float) -> list[str]:
    ranked = sorted(e.cosine, key=lambda i: -e.cosine[i])
    return [i for i in ranked if e.cosine[i] >= cosine][:10]


def bm25_dense_gate(e: Evidence, coverage: float, cosine: float) -> list[str]:
    return [i for i, (_, c) in e.lexical.items() if c >= coverage and e.cosine[i] >= cosine][:10]


def rrf_dense_gate(e: Evidence, coverage: float, cosine: float) -> list[str]:
    lexical_rank = {i: r for r, i in enumerate(e.lexical)}
    dense_rank = {i: r for r, i in enumerate(sorted(e.cosine, key=lambda i: -e.cosine[i]))}
    fused = {
        i: 1 / (RRF_K + dense_rank[i]) + (1 / (RRF_K + lexical_rank[i]) if i in lexical_rank else 0.0)
        for i in e.cosine
    }
    passing = [i for i in fused if e.cosine[i] >= cosine and e.lexical.get(i, (0.0, 0.0))[1] >= coverage]
    return sorted(passing, key=lambda i: -fused[i])[:10]


VARIANTS = (
    Variant("bm25 (as shipped)", bm25_only, tuned_coverage=False, tuned_cosine=False),
    Variant("dense only", dense_only, tuned_coverage=False, tuned_cosine=True),
    Variant("bm25 + dense gate", bm25_dense_gate, tuned_coverage=True, tuned_cosine=True),
    Variant("rrf + dense gate", rrf_dense_gate, tuned_coverage=True, tuned_cosine=True),
)


def scores_of(variant: Variant, evidence: dict[str, Evidence], queries: Sequence[Query], coverage: float, cosine: float) -> Scores:
    return score_rankings(queries, lambda q: variant.answer(evidence[q.text], coverage, cosine))


def tune(variant: Variant, evidence: dict[str, Evidence], tuning: Sequence[Query]) -> tuple[float, float]:
    """Thresholds maximising recall@3 + off-domain rejection on the tuning split (ties: MRR)."""
    coverages = COVERAGE_GRID if variant.tuned_coverage else (MIN_COVERAGE,)  # dense only ignores it
    cosines = COSINE_GRID if variant.tuned_cosine else (-1.0,)

    def objective(thresholds: tuple[float, float]) -> tuple[float, float]:
        s = scores_of(variant, evidence, tuning, *thresholds)
        return round(s.recall_at_3 + s.off_domain_rejected, 6), s.mrr

    return max(itertools.product(coverages, cosines), key=objective)


def percentiles(timings_ms: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(timings_ms)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def time_hybrid(
    index: PassageIndex, encoder: Encoder, doc_vectors: np.ndarray, texts: Sequence[str], repeats: int
) -> tuple[float, float, float, float, float, float]:
    """p50/p95 in ms of the query embedding (wall clock and CPU time) and of a whole hybrid search.

    CPU time is reported beside wall-clock time because the machine is shared: it is
    what the embedding costs when the core is not taken by other work.
    """
    embed_ms: list[float] = []
    embed_cpu_ms: list[float] = []
    total_ms: list[float] = []
    for _ in range(repeats):
        for text in texts:
            start = time.perf_counter()
            index.search(text, k=len(index.articles), min_coverage=0)
            embedded, embedded_cpu = time.perf_counter(), time.process_time()
            vector = encoder.encode([text])[0]
            embed_cpu_ms.append((time.process_time() - embedded_cpu) * 1000)
            embed_ms.append((time.perf_counter() - embedded) * 1000)
            np.argmax(doc_vectors @ vector)
            total_ms.append((time.perf_counter() - start) * 1000)
    return (*percentiles(embed_ms), *percentiles(embed_cpu_ms), *percentiles(total_ms))


def folder_megabytes(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb-dir", type=Path, default=Path("knowledge_base"))
    parser.add_argument("--repeats", type=int, default=3, help="passes over all queries for latency")
    parser.add_argument("--encoder", choices=sorted(ENCODERS), default="onnx")
    args = parser.parse_args(argv)

    process = psutil.Process(os.getpid())
    kb = load_knowledge_base(args.kb_dir)
    index = PassageIndex.from_knowledge_base(kb)
    queries = load_queries()
    tuning, held_out = tuning_split(queries)
    resident_before = process.memory_info().rss

    start = time.perf_counter()
    encoder = ENCODERS[args.encoder]()
    load_s = time.perf_counter() - start
    resident_model = process.memory_info().rss
    model_dir = installed_model_dir()
    print(f"encoder: {args.encoder}; model: {model_dir} ({folder_megabytes(model_dir):.0f} MB on disk), loaded in {load_s:.1f} s, "
          f"+{(resident_model - resident_before) / 1e6:.0f} MB resident")
    print(f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    query_vectors = encoder.encode([q.text for q in queries])
    for with_asks in (False, True):
        texts, owners = dense_documents(index, with_asks)
        start = time.perf_counter()
        doc_vectors = encoder.encode(texts)
        build_s = time.perf_counter() - start
        label = "+asks" if with_asks else "overview+sections"
        print(f"\n== documents embedded: {label}, {len(texts)} texts in {build_s:.1f} s "
              f"({doc_vectors.nbytes / 1e6:.1f} MB of vectors)")
        evidence = gather(index, queries, query_vectors, doc_vectors, np.array(owners))
        for variant in VARIANTS:
            coverage, cosine = tune(variant, evidence, tuning)
            print(f"{variant.name}: coverage >= {coverage}, cosine >= {cosine}")
            for split, group in (("all", queries), ("held-out", held_out), ("tuning", tuning)):
                print_scores(f"  {split}", scores_of(variant, evidence, group, coverage, cosine))
        embed_p50, embed_p95, cpu_p50, cpu_p95, total_p50, total_p95 = time_hybrid(
            index, encoder, doc_vectors, [q.text for q in queries], args.repeats
        )
        print(f"latency over {args.repeats} passes: query embedding p50 {embed_p50:.1f} ms p95 {embed_p95:.1f} ms "
              f"(CPU time p50 {cpu_p50:.1f} ms p95 {cpu_p95:.1f} ms); "
              f"hybrid search p50 {total_p50:.1f} ms p95 {total_p95:.1f} ms")
    print(f"resident memory added by model + vectors: {(process.memory_info().rss - resident_before) / 1e6:.0f} MB")

    # Cosines against 10,000 passages: random unit vectors stand in (only the product's cost matters).
    rng = np.random.default_rng(7)
    synthetic = rng.standard_normal((10_000, DIMENSION)).astype(np.float32)
    synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
    *_, total_p50, total_p95 = time_hybrid(index, encoder, synthetic, [q.text for q in queries], 1)
    print(f"with 10,000 synthetic passage vectors: hybrid search p50 {total_p50:.1f} ms p95 {total_p95:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
