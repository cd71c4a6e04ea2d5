"""Passage search over a knowledge base: BM25 on `##` sections, with typo tolerance,
sales-page gating and an answerability threshold.

The same `PassageIndex.search` serves the assistant, `lantern kb search` and the
evaluation, so all three apply exactly the same gating and threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Optional, Sequence

import bm25s
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.knowledge.articles import Article
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

# An answer must cover this share of the query's informative terms (IDF-weighted)...
MIN_COVERAGE = 0.5
# ...and reach this BM25 score on its best passage. Both tuned with `make eval-kb`.
MIN_SCORE = 2.0
OVERVIEW = "Overview"


@dataclass(frozen=True)
class IndexedArticle:
    """What search needs to know about an article, from files or from the database."""

    id: str
    title: str
    url: str
    topics: tuple[str, ...]
    kind: str
    summary: str
    why_it_matters: str
    related: tuple[str, ...]
    asks: tuple[str, ...]
    sections: tuple[tuple[str, str], ...]  # (heading, text)

    @classmethod
    def from_article(cls, article: Article) -> "IndexedArticle":
        return cls(
            id=article.id,
            title=article.title,
            url=article.url,
            topics=article.topics,
            kind=article.kind,
            summary=article.summary,
            why_it_matters=article.why_it_matters,
            related=article.related,
            asks=article.asks,
            sections=tuple((s.heading, s.text) for s in article.sections),
        )


@dataclass(frozen=True)
class SearchResult:
    id: str
    title: str
    url: str
    topics: tuple[str, ...]
    kind: str
    summary: str
    why_it_matters: str
    related: tuple[str, ...]
    score: float
    coverage: float
    passage_heading: str
    passage: str

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "topics": list(self.topics),
            "kind": self.kind,
            "summary": self.summary,
            "why_it_matters": self.why_it_matters,
            "related": list(self.related),
            "score": round(self.score, 4),
            "coverage": round(self.coverage, 4),
            "passage": {"heading": self.passage_heading, "text": self.passage},
        }


@dataclass(frozen=True)
class _Doc:
    article: int  # index into PassageIndex.articles
    heading: str  # OVERVIEW for the article's summary document
    text: str
    terms: frozenset[str]


class PassageIndex:
    """An in-memory BM25 index of every section (plus one overview per article)."""

    def __init__(self, articles: Sequence[IndexedArticle]) -> None:
        self.articles = list(articles)
        self.docs: list[_Doc] = []
        corpus: list[list[str]] = []
        surface_words: set[str] = set()
        for number, article in enumerate(self.articles):
            # The overview carries the visitor's own phrasing (`asks`) and the summary,
            # so symptom language finds the article even when sections use jargon.
            overview = " ".join([article.title, article.summary, article.why_it_matters, *article.asks])
            texts = [(OVERVIEW, overview)] + [
                (heading, f"{article.title}. {heading}. {text}") for heading, text in article.sections
            ]
            for heading, text in texts:
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
        # A word the knowledge base never uses is as informative as the rarest word it does.
        self._unknown_idf = math.log(1 + (n - 0.5) / 1.5)
        self._surface_words = sorted(surface_words)
        self._doc_article = np.array([d.article for d in self.docs], dtype=np.int64)
        self._article_docs: list[list[int]] = [[] for _ in self.articles]
        for doc_number, doc in enumerate(self.docs):
            self._article_docs[doc.article].append(doc_number)
        self._article_terms = [
            frozenset().union(*(self.docs[i].terms for i in doc_numbers))
            for doc_numbers in self._article_docs
        ]

    @classmethod
    def from_articles(cls, articles: Iterable[Article]) -> "PassageIndex":
        return cls([IndexedArticle.from_article(a) for a in articles])

    def __len__(self) -> int:
        return len(self.docs)

    def query_terms(self, query: str) -> list[str]:
        """Stems of the query, with unknown words corrected to a close knowledge-base word."""
        result = []
        for word in dict.fromkeys(words(query)):
            term = stem(word)
            if term not in self._vocab and len(word) >= 4:
                term = self._correct(word) or term
            result.append(term)
        return result

    def _correct(self, word: str) -> Optional[str]:
        max_distance = 1 if len(word) <= 5 else 2
        match = process.extractOne(
            word, self._surface_words, scorer=Levenshtein.distance, score_cutoff=max_distance
        )
        return stem(match[0]) if match else None

    def search(
        self,
        query: str,
        k: int = 3,
        intent: IntentLevel = IntentLevel.NONE,
        exclude: Iterable[str] = (),
        min_coverage: float = MIN_COVERAGE,
        min_score: float = MIN_SCORE,
    ) -> list[SearchResult]:
        """The `k` best answerable articles for `query`, best first; empty when none is good enough."""
        query_terms = self.query_terms(query)
        if not query_terms or not self.docs:
            return []
        known = [t for t in query_terms if t in self._vocab]
        weights = {t: self._idf.get(t, self._unknown_idf) for t in query_terms}
        total_weight = sum(weights.values())
        if not known:
            return []
        scores = self._bm25.get_scores(known)

        hidden = HIDDEN_KINDS[IntentLevel(intent)]
        excluded = set(exclude)
        best_doc: dict[int, int] = {}
        order = np.argsort(-scores, kind="stable")
        for doc_number in order:
            if scores[doc_number] <= 0:
                break
            article_number = int(self._doc_article[doc_number])
            if article_number not in best_doc:
                best_doc[article_number] = int(doc_number)

        results: list[SearchResult] = []
        for article_number, doc_number in best_doc.items():
            article = self.articles[article_number]
            if article.kind in hidden or article.id in excluded:
                continue
            score = float(scores[doc_number])
            matched = self._article_terms[article_number]
            coverage = sum(w for t, w in weights.items() if t in matched) / total_weight
            if coverage < min_coverage or score < min_score:
                continue
            heading, passage = self._best_section(article_number, scores)
            results.append(
                SearchResult(
                    id=article.id,
                    title=article.title,
                    url=article.url,
                    topics=article.topics,
                    kind=article.kind,
                    summary=article.summary,
                    why_it_matters=article.why_it_matters,
                    related=article.related,
                    score=score,
                    coverage=coverage,
                    passage_heading=heading,
                    passage=passage,
                )
            )
            if len(results) == k:
                break
        return results

    def _best_section(self, article_number: int, scores: np.ndarray) -> tuple[str, str]:
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
