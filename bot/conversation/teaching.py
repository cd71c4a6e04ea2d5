"""Choosing what to teach next: the best articles, the next passage, a related pain point.

Works on a `PassageIndex`; knows nothing of Rasa. Actions turn these into messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from bot.knowledge.search import IndexedArticle, IntentLevel, PassageIndex, SearchResult

EXCERPT_CHARS = 320
# How much less similar to the query (cosine) a second or third passage may be than the first.
RELEVANCE_MARGIN = 0.05
# Share of the query (IDF-weighted, as in search) a topic must cover to be offered as "nearest".
CLOSEST_TOPIC_COVERAGE = 0.3
_MARKDOWN_NOISE = re.compile(r"(\*\*|__|`)")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)
_WHY_HEADINGS = ("matter", "cost", "why", "hurt", "risk", "stake")


@dataclass(frozen=True)
class Passage:
    """A section of an article, ready to show."""

    article_id: str
    title: str
    heading: str
    excerpt: str
    why_it_matters: str
    url: str


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The opening of a section as plain sentences, cut at a sentence or word boundary."""
    flat = " ".join(_LIST_MARKER.sub("", _MARKDOWN_NOISE.sub("", text)).split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if sentence_end > limit // 2:
        return cut[: sentence_end + 1]
    return cut.rsplit(" ", 1)[0] + "…"


def passage_of(article: IndexedArticle, heading: str, text: str) -> Passage:
    return Passage(article.id, article.title, heading, excerpt(text), article.why_it_matters, article.url)


def from_result(result: SearchResult) -> Passage:
    return Passage(
        result.id, result.title, result.passage_heading, excerpt(result.passage), result.why_it_matters, result.url
    )


def best_articles(
    index: PassageIndex,
    queries: Sequence[str],
    k: int = 3,
    intent: IntentLevel = IntentLevel.NONE,
    exclude: Iterable[str] = (),
    kinds: Optional[frozenset[str]] = None,
) -> list[SearchResult]:
    """Results of the first query that finds anything answerable, keeping only those nearly
    as relevant as the best (`nearly_as_relevant`), and only of `kinds` when given."""
    excluded = list(exclude)
    for query in queries:
        results = index.search(query, k=k if kinds is None else len(index), intent=intent, exclude=excluded)
        if kinds is not None:
            results = [r for r in results if r.kind in kinds][:k]
        if results:
            return nearly_as_relevant(results)
    return []


def nearly_as_relevant(results: Sequence[SearchResult]) -> list[SearchResult]:
    """The best result, and those after it whose similarity to the query is within
    `RELEVANCE_MARGIN` of the best's: a passage that merely passed the answerability gate
    is not shown beside one that answers (a spam question's third passage was about slow
    replies to enquiries)."""
    if not results or results[0].similarity is None:
        return list(results)
    floor = results[0].similarity - RELEVANCE_MARGIN
    return [results[0]] + [r for r in results[1:] if r.similarity is not None and r.similarity >= floor]


def next_section(
    article: IndexedArticle, shown_heading: Optional[str], first_shown: Optional[str] = None
) -> Optional[tuple[str, str]]:
    """The section after `shown_heading`, wrapping to the start (search may have opened the
    article in the middle); None once the walk is back at `first_shown`."""
    headings = [heading for heading, _ in article.sections]
    if not headings:
        return None
    if shown_heading not in headings:
        return article.sections[0]
    position = (headings.index(shown_heading) + 1) % len(headings)
    if headings[position] == (first_shown or headings[0]) or headings[position] == shown_heading:
        return None
    return article.sections[position]


def why_section(article: IndexedArticle) -> Optional[tuple[str, str]]:
    """The section that explains what the problem costs, when the article has one."""
    for heading, text in article.sections:
        if any(word in heading.lower() for word in _WHY_HEADINGS):
            return heading, text
    return None


def related_article(
    index: PassageIndex, article: IndexedArticle, shown: Iterable[str], intent: IntentLevel = IntentLevel.NONE
) -> Optional[IndexedArticle]:
    """The first article listed in `related` that the visitor hasn't seen and may be shown."""
    seen = set(shown)
    for related_id in article.related:
        candidate = index.article(related_id)
        if candidate is not None and candidate.id not in seen and index.may_show(candidate, intent):
            return candidate
    return None


def closest_topic(index: PassageIndex, query: str) -> Optional[str]:
    """The title of the topic nearest to an unanswerable query, when it is near at all:
    a tractor question shares a word or two with marketing articles, and naming a topic
    for it would only confuse."""
    # Words, not meaning: the query was just found unanswerable, so the cosine gate is off.
    nearest = index.search(query, k=1, min_coverage=CLOSEST_TOPIC_COVERAGE, min_cosine=-1.0)
    return index.topic_title(nearest[0].topics[0]) if nearest else None
