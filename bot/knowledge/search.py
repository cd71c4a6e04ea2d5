"""Passage search over a knowledge base: BM25 on `##` sections, with typo tolerance,
sales-page gating and an answerability threshold.

The same `PassageIndex.search` serves the assistant, `lantern kb search` and the
evaluation, so all three apply exactly the same gating and threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from typing import Iterable, Optional, Sequence

import bm25s
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.knowledge.articles import Article, KnowledgeBase
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


@dataclass(frozen=True)
class QueryTerm:
    term: str  # the stem of the visitor's word
    weight: float  # its IDF; words the knowledge base never uses weigh the most
    alternatives: frozenset[str]  # index terms that count as this word: itself, a typo fix, synonyms
    confidence: float  # below 1 when the match relies on a typo correction


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

    def __init__(
        self,
        articles: Sequence[IndexedArticle],
        synonyms: Optional[dict[str, str]] = None,
        topics: Optional[dict[str, str]] = None,
    ) -> None:
        self.articles = list(articles)
        self.synonyms = dict(synonyms or {})
        self.topics = dict(topics or {})  # topic id -> title
        self._by_id = {a.id: a for a in self.articles}
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

    @classmethod
    def from_knowledge_base(cls, kb: KnowledgeBase) -> "PassageIndex":
        return cls(
            [IndexedArticle.from_article(a) for a in kb.articles],
            kb.synonyms,
            {topic.id: topic.title for topic in kb.topics.values()},
        )

    def article(self, article_id: str) -> Optional[IndexedArticle]:
        return self._by_id.get(article_id)

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
        min_coverage: float = MIN_COVERAGE,
    ) -> list[SearchResult]:
        """The `k` best answerable articles for `query`, best first; empty when none is good enough."""
        analysed = self.analyse(query)
        if not analysed or not self.docs:
            return []
        # A word the index knows scores as itself and its glossary words score at a discount;
        # for an unknown word, its typo fix or glossary words are all it has, at full weight.
        direct = sorted({t.term for t in analysed if t.term in self._vocab} | {
            a for t in analysed if t.term not in self._vocab for a in t.alternatives if a in self._vocab
        })
        expanded = sorted({a for t in analysed for a in t.alternatives if a in self._vocab} - set(direct))
        if not direct and not expanded:
            return []
        scores = self._bm25.get_scores(direct) if direct else np.zeros(len(self.docs))
        if expanded:
            scores = scores + SYNONYM_WEIGHT * self._bm25.get_scores(expanded)
        total_weight = sum(t.weight for t in analysed)

        excluded = set(exclude)
        # Documents are stored article by article, so each article's best score is one reduceat.
        article_scores = np.maximum.reduceat(scores, self._article_starts)
        results: list[SearchResult] = []
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
            if coverage < min_coverage:
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
