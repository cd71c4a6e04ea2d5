"""Passage search over a knowledge base: BM25 on `##` sections, with typo tolerance,
sales-page gating and an answerability threshold, fused with sentence embeddings when the
index carries them (the live index always does; docs/search.md).

The same `PassageIndex.search` serves the assistant, `lantern kb search` and the
evaluation, so all three apply exactly the same gating and threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, ClassVar, Iterable, Optional, Protocol, Sequence

import bm25s
import numpy as np
from numpy.typing import NDArray
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.knowledge.articles import Article, ArticleFields, KnowledgeBase
from bot.knowledge.text import stem, terms, words


class IntentLevel(str, Enum):
    """How clearly the visitor wants to buy; decides which page kinds search may return."""

    NONE = "none"
    INTEREST = "interest"
    CLEAR = "clear"


HIDDEN_KINDS = {
    IntentLevel.NONE: frozenset({"service", "pricing"}),
    IntentLevel.INTEREST: frozenset({"pricing"}),
    IntentLevel.CLEAR: frozenset(),
}

# An answer must cover this share of the query's words, each weighted by how informative
# it is (IDF). A BM25 score threshold was measured too and added nothing (docs/search.md).
# Tuned on a third of the labelled queries with `make eval-kb --tune`.
MIN_COVERAGE = 0.45
# A corrected typo counts for this share of the word's weight: the correction may be wrong.
TYPO_CONFIDENCE = 0.7
# Glossary words add to a passage's score at this share of the visitor's own words.
SYNONYM_WEIGHT = 0.6
# Weight of a word the knowledge base never uses, relative to its rarest word.
UNKNOWN_WORD_WEIGHT = 1.3
# Only this many best-scoring articles are checked for coverage: bounded work per query.
MAX_CANDIDATES = 50
OVERVIEW = "Overview"

# Hybrid search (docs/search.md, "Dense embeddings"): the BM25 and embedding rankings are
# fused by reciprocal rank, and an article is only answered when its best cosine similarity
# to the query reaches MIN_COSINE. Both thresholds were chosen on the tuning third of the
# labelled queries with bot/evaluation/dense_eval.py; coverage adds nothing once meaning
# gates the answer, so the hybrid does not require any.
RRF_K = 60  # the usual constant: the top of both lists counts, not only rank 1
MIN_COSINE = 0.475
HYBRID_MIN_COVERAGE = 0.0


class QueryEncoder(Protocol):
    def encode_query(self, text: str) -> NDArray[Any]: ...


@dataclass(frozen=True)
class DenseVectors:
    """Unit vectors of `embedded_texts(articles)`, row for row, and the encoder for queries."""

    matrix: NDArray[Any]  # float32, (texts, dimension)
    encoder: QueryEncoder


@dataclass(frozen=True)
class QueryTerm:
    term: str  # the stem of the visitor's word
    weight: float  # its IDF; words the knowledge base never uses weigh the most
    alternatives: frozenset[str]  # index terms that count as this word: itself, a typo fix, synonyms
    confidence: float  # below 1 when the match relies on a typo correction


@dataclass(frozen=True)
class IndexedArticle(ArticleFields):
    """What search needs to know about an article, from files or from the database."""

    sections: tuple[tuple[str, str], ...]  # (heading, text)

    @classmethod
    def from_article(cls, article: Article) -> "IndexedArticle":
        return cls(**article.front_matter(), sections=tuple((s.heading, s.text) for s in article.sections))


def article_documents(article: IndexedArticle) -> list[tuple[str, str]]:
    """(heading, text) of the documents BM25 indexes for `article`: its overview, then each section.

    The overview carries the visitor's own phrasing (`asks`) and the summary, so symptom
    language finds the article even when sections use jargon.
    """
    overview = " ".join([article.title, article.summary, article.why_it_matters, *article.asks])
    return [(OVERVIEW, overview)] + [(heading, f"{article.title}. {heading}. {text}") for heading, text in article.sections]


def embedded_texts(articles: Sequence[IndexedArticle]) -> list[tuple[int, str]]:
    """(article number, text) of everything embedded: every document, in index order, then each
    `asks` phrase on its own (a short visitor phrase is what a visitor query is closest to)."""
    documents = [(n, text) for n, article in enumerate(articles) for _, text in article_documents(article)]
    asks = [(n, ask) for n, article in enumerate(articles) for ask in article.asks]
    return documents + asks


@dataclass(frozen=True)
class SearchResult(ArticleFields):
    """The article found, with the passage that matched and how well."""

    score: float  # BM25; 0 when the article shares no word with the query
    coverage: float
    passage_heading: str
    passage: str
    similarity: Optional[float] = None  # best cosine similarity to the query, with embeddings

    NOT_SHOWN: ClassVar[frozenset[str]] = frozenset({"asks"})  # left out of `as_dict` (search output)

    def as_dict(self) -> dict[str, Any]:
        shown = {name: value for name, value in self.front_matter().items() if name not in self.NOT_SHOWN}
        return {
            **{name: list(value) if isinstance(value, tuple) else value for name, value in shown.items()},
            "score": round(self.score, 4),
            "coverage": round(self.coverage, 4),
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "passage": {"heading": self.passage_heading, "text": self.passage},
        }


@dataclass(frozen=True)
class _Doc:
    article: int  # index into PassageIndex.articles
    heading: str  # OVERVIEW for the article's summary document
    text: str
    terms: frozenset[str]


class PassageIndex:
    """An in-memory BM25 index of every section (plus one overview per article), with the
    sections' embeddings when `dense` is given."""

    def __init__(
        self,
        articles: Sequence[IndexedArticle],
        synonyms: Optional[dict[str, str]] = None,
        topics: Optional[dict[str, str]] = None,
        dense: Optional[DenseVectors] = None,
    ) -> None:
        self.articles = list(articles)
        self.dense = dense
        self.synonyms = dict(synonyms or {})
        self.topics = dict(topics or {})  # topic id -> title
        self._by_id = {a.id: a for a in self.articles}
        self.docs: list[_Doc] = []
        corpus: list[list[str]] = []
        surface_words: set[str] = set()
        for number, article in enumerate(self.articles):
            for heading, text in article_documents(article):
                doc_terms = terms(text)
                corpus.append(doc_terms or ["_"])
                surface_words.update(words(text))
                shown = text if heading == OVERVIEW else dict(article.sections)[heading]
                self.docs.append(_Doc(number, heading, shown, frozenset(doc_terms)))

        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)
        self._vocab: dict[str, int] = self._bm25.vocab_dict
        document_frequency: dict[str, int] = {}
        for doc in self.docs:
            for term in doc.terms:
                document_frequency[term] = document_frequency.get(term, 0) + 1
        n = max(len(self.docs), 1)
        self._idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in document_frequency.items()}
        # A word the knowledge base never uses is nearly as informative as its rarest word:
        # off-domain questions are made of such words.
        self._unknown_idf = UNKNOWN_WORD_WEIGHT * math.log(1 + (n - 0.5) / 1.5)
        self._surface_by_initial: dict[str, list[str]] = {}
        for word in sorted(surface_words):
            self._surface_by_initial.setdefault(word[0], []).append(word)
        self._synonyms: dict[tuple[str, ...], frozenset[str]] = {}
        for phrase, expansion in self.synonyms.items():
            key = tuple(dict.fromkeys(terms(phrase)))
            if key:
                self._synonyms[key] = self._synonyms.get(key, frozenset()) | frozenset(terms(expansion))
        self._article_docs: list[list[int]] = [[] for _ in self.articles]
        for doc_number, doc in enumerate(self.docs):
            self._article_docs[doc.article].append(doc_number)
        self._article_starts = np.array([docs[0] for docs in self._article_docs], dtype=np.int64)
        self._article_terms = [
            frozenset().union(*(self.docs[i].terms for i in doc_numbers))
            for doc_numbers in self._article_docs
        ]
        if dense is not None:
            self._embedded_owners = np.array([n for n, _ in embedded_texts(self.articles)], dtype=np.int64)
            if dense.matrix.shape[0] != len(self._embedded_owners):
                raise ValueError("the embeddings do not match the articles")

    @classmethod
    def from_knowledge_base(cls, kb: KnowledgeBase) -> "PassageIndex":
        """BM25 alone; bot.knowledge.index_store.hybrid_index adds the embeddings."""
        return cls(
            [IndexedArticle.from_article(a) for a in kb.articles],
            kb.synonyms,
            {topic.id: topic.title for topic in kb.topics.values()},
        )

    def article(self, article_id: str) -> Optional[IndexedArticle]:
        return self._by_id.get(article_id)

    @property
    def embedded_owners(self) -> NDArray[Any]:
        """The article number of each row of `dense.matrix` (empty without embeddings)."""
        owners: NDArray[Any] = getattr(self, "_embedded_owners", np.zeros(0, dtype=np.int64))
        return owners

    def may_show(self, article: IndexedArticle, intent: IntentLevel = IntentLevel.NONE) -> bool:
        """Whether `article`'s kind may be shown at this level of buying intent."""
        return article.kind not in HIDDEN_KINDS[IntentLevel(intent)]

    def topic_title(self, topic_id: str) -> str:
        return self.topics.get(topic_id, topic_id.replace("-", " "))

    def __len__(self) -> int:
        return len(self.docs)

    def analyse(self, query: str) -> list[QueryTerm]:
        """The query's terms, each with its weight and the index terms that count as a match.

        Unknown words are corrected to a close knowledge-base word when one exists
        (visitors misspell), and glossary entries add the words the articles use.
        """
        found: dict[str, QueryTerm] = {}
        for word in words(query):
            term = stem(word)
            if term in found:
                continue
            if term in self._vocab:
                found[term] = QueryTerm(term, self._idf[term], frozenset({term}), 1.0)
                continue
            corrected = self._correct(word)
            alternatives = frozenset({corrected}) if corrected else frozenset()
            found[term] = QueryTerm(term, self._unknown_idf, alternatives, TYPO_CONFIDENCE if corrected else 1.0)
        for phrase_terms, expansion in self._synonyms.items():
            if all(t in found for t in phrase_terms):
                for t in phrase_terms:
                    current = found[t]
                    found[t] = replace(current, alternatives=current.alternatives | expansion)
        return list(found.values())

    def _correct(self, word: str) -> Optional[str]:
        """A knowledge-base word one or two edits from `word` with the same first letter."""
        if len(word) < 4 or word.isdigit():
            return None
        max_distance = 1 if len(word) <= 7 else 2
        candidates = self._surface_by_initial.get(word[0], ())
        match = process.extractOne(word, candidates, scorer=OSA.distance, score_cutoff=max_distance)
        return stem(match[0]) if match else None

    def search(
        self,
        query: str,
        k: int = 3,
        intent: IntentLevel = IntentLevel.NONE,
        exclude: Iterable[str] = (),
        min_coverage: Optional[float] = None,
        min_cosine: float = MIN_COSINE,
    ) -> list[SearchResult]:
        """The `k` best answerable articles for `query`, best first; empty when none is good enough.

        `min_coverage` defaults to the threshold tuned for this index's kind (BM25 alone or
        hybrid); `min_cosine` only applies to a hybrid index (-1 turns the gate off).
        """
        excluded = set(exclude)
        if min_coverage is None:
            min_coverage = MIN_COVERAGE if self.dense is None else HYBRID_MIN_COVERAGE
        doc_scores, lexical = self._lexical_matches(query, intent, excluded)
        if self.dense is None:
            return [
                self._result(number, score, coverage, doc_scores)
                for number, score, coverage in lexical
                if coverage >= min_coverage
            ][:k]

        # einsum, not `@`: a matrix-vector product through OpenBLAS wakes its thread pool,
        # whose spinning doubled the CPU time of a search (measured); this loop is single-threaded
        # and as fast at this size.
        similarities = np.einsum("ij,j->i", self.dense.matrix, self.dense.encoder.encode_query(query))
        best = np.full(len(self.articles), -1.0, dtype=np.float32)
        np.maximum.at(best, self._embedded_owners, similarities)
        visible = [n for n, a in enumerate(self.articles) if self.may_show(a, intent) and a.id not in excluded]
        dense_rank = {n: rank for rank, n in enumerate(sorted(visible, key=lambda n: -best[n]))}
        lexical_rank = {n: rank for rank, (n, _, _) in enumerate(lexical)}
        found = {n: (score, coverage) for n, score, coverage in lexical}

        def fused(n: int) -> float:
            return 1 / (RRF_K + dense_rank[n]) + (1 / (RRF_K + lexical_rank[n]) if n in lexical_rank else 0.0)

        passing = [n for n in visible if best[n] >= min_cosine and found.get(n, (0.0, 0.0))[1] >= min_coverage]
        results = []
        for n in sorted(passing, key=lambda n: -fused(n))[:k]:
            score, coverage = found.get(n, (0.0, 0.0))
            # Documents are the first rows of the embeddings, so cosines pick the passage when no word is shared.
            passage_scores = doc_scores if score > 0 else similarities[: len(self.docs)]
            results.append(self._result(n, score, coverage, passage_scores, float(best[n])))
        return results

    def _lexical_matches(
        self, query: str, intent: IntentLevel, excluded: set[str]
    ) -> tuple[NDArray[Any], list[tuple[int, float, float]]]:
        """BM25 score of every document, and (article number, score, coverage) of the articles
        sharing a word with the query, best first, whatever their coverage."""
        no_match: tuple[NDArray[Any], list[tuple[int, float, float]]] = (np.zeros(len(self.docs)), [])
        analysed = self.analyse(query)
        if not analysed or not self.docs:
            return no_match
        # A word the index knows scores as itself and its glossary words score at a discount;
        # for an unknown word, its typo fix or glossary words are all it has, at full weight.
        direct = sorted({t.term for t in analysed if t.term in self._vocab} | {
            a for t in analysed if t.term not in self._vocab for a in t.alternatives if a in self._vocab
        })
        expanded = sorted({a for t in analysed for a in t.alternatives if a in self._vocab} - set(direct))
        if not direct and not expanded:
            return no_match
        scores = self._bm25.get_scores(direct) if direct else np.zeros(len(self.docs))
        if expanded:
            scores = scores + SYNONYM_WEIGHT * self._bm25.get_scores(expanded)
        total_weight = sum(t.weight for t in analysed)

        # Documents are stored article by article, so each article's best score is one reduceat.
        article_scores = np.maximum.reduceat(scores, self._article_starts)
        matches = []
        for article_number in np.argsort(-article_scores, kind="stable")[:MAX_CANDIDATES]:
            score = float(article_scores[article_number])
            if score <= 0:
                break  # sorted: no further article shares a word with the query
            article = self.articles[article_number]
            if not self.may_show(article, intent) or article.id in excluded:
                continue
            article_terms = self._article_terms[article_number]
            coverage = sum(
                t.weight * t.confidence for t in analysed if t.alternatives & article_terms
            ) / total_weight
            matches.append((int(article_number), score, coverage))
        return scores, matches

    def _result(
        self, article_number: int, score: float, coverage: float, doc_scores: NDArray[Any], similarity: Optional[float] = None
    ) -> SearchResult:
        article = self.articles[article_number]
        heading, passage = self._best_section(article_number, doc_scores)
        return SearchResult(
            **article.front_matter(),
            score=score,
            coverage=coverage,
            passage_heading=heading,
            passage=passage,
            similarity=similarity,
        )

    def _best_section(self, article_number: int, scores: NDArray[Any]) -> tuple[str, str]:
        """The article's highest-scoring real section (the overview is not a passage)."""
        candidates = [
            (float(scores[i]), -i, self.docs[i])
            for i in self._article_docs[article_number]
            if self.docs[i].heading != OVERVIEW
        ]
        if not candidates:
            article = self.articles[article_number]
            return OVERVIEW, article.summary
        _, _, doc = max(candidates, key=lambda c: (c[0], c[1]))
        return doc.heading, doc.text
