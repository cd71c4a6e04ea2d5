"""Problem discovery: what the visitor told us, restated in their own words.

Plain functions over a `DiscoverySummary`; the Rasa form in `bot/actions/discovery.py`
only collects the answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

# Stored in a slot when the visitor skips a question or says they don't know, so the
# form moves on and the summary knows the answer is missing, not forgotten.
SKIPPED = "__skipped__"

# First person -> second person, so "our site is slow" is reflected as "your site is slow".
_PRONOUNS = {
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself",
    "we": "you", "us": "you", "our": "your", "ours": "yours", "ourselves": "yourselves",
    "im": "you're", "i'm": "you're", "i've": "you've", "ive": "you've", "i'd": "you'd", "i'll": "you'll",
    "we're": "you're", "we've": "you've", "weve": "you've", "we'd": "you'd", "we'll": "you'll",
    "am": "are",
}
_TOKEN = re.compile(r"[A-Za-z']+|[^A-Za-z']+")
# The restatement is a bot message, and bot messages are rendered as Markdown (links, bold,
# code): the visitor's words must come back as plain words. Markup characters go, and a
# URL loses its scheme, so nothing the visitor typed becomes a link in the bot's voice.
_MARKUP = re.compile(r"[\[\]*_`<>|~#]")
_SCHEME = re.compile(r"\b(?:https?|ftp|javascript|data|mailto):/*", re.IGNORECASE)
MAX_QUOTED_CHARS = 240
_QUESTION_START = re.compile(
    r"^\s*(?:how|what|whats|what's|why|when|where|which|who|can|could|should|would|is|are|do|does|did|will)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DiscoverySummary:
    """The visitor's problem in their words; any answer may be missing."""

    problem: str
    symptoms: Optional[str] = None
    impact: Optional[str] = None
    tried: Optional[str] = None

    @classmethod
    def from_answers(
        cls, problem: str, symptoms: Optional[str], impact: Optional[str], tried: Optional[str]
    ) -> "DiscoverySummary":
        return cls(problem.strip(), given(symptoms), given(impact), given(tried))


def given(answer: Optional[str]) -> Optional[str]:
    """The answer, or None when it was skipped or empty."""
    if answer is None or answer == SKIPPED or not answer.strip():
        return None
    return answer.strip()


def reflect(text: str) -> str:
    """The visitor's words with first-person pronouns turned to second person, trimmed for quoting.

    Plain text only: Markdown characters and URL schemes are removed (see `_MARKUP`)."""
    text = _SCHEME.sub("", _MARKUP.sub(" ", text))
    text = re.sub(r"[ \t]{2,}", " ", text)
    words = []
    for token in _TOKEN.findall(text.strip()):
        words.append(_PRONOUNS.get(token.lower(), token))
    reflected = "".join(words).strip().rstrip(".!?,;: ")
    if len(reflected) > MAX_QUOTED_CHARS:
        reflected = reflected[: MAX_QUOTED_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return reflected


_TRIED_PREFIX = re.compile(r"^(?:(?:we|i)\s+)?(?:have\s+|'ve\s+)?(?:already\s+)?tried\s+", re.IGNORECASE)


def looks_like_question(text: str) -> bool:
    """Whether a reply during discovery is a question rather than an answer.

    NLU alone is not trusted here: "open rates halved since march" can score as a
    question, and mistaking an answer for a change of subject derails discovery.
    """
    return text.strip().endswith("?") or bool(_QUESTION_START.match(text))


def restate(summary: DiscoverySummary) -> str:
    """'So: X (what you see), and it matters because Y.' built from what the visitor said."""
    sentence = f"So: {reflect(summary.problem)}"
    if summary.symptoms:
        sentence += f" ({reflect(summary.symptoms)})"
    if summary.impact:
        sentence += f", and it matters because {reflect(summary.impact)}"
    sentence += "."
    if summary.tried:
        sentence += f" Already tried: {reflect(_TRIED_PREFIX.sub('', summary.tried))}."
    return sentence


def search_queries(summary: DiscoverySummary) -> list[str]:
    """Queries to try in order: the problem as first put, then with what the visitor sees.

    The first statement is usually the clearest; symptoms ("since march, 3 likes a post")
    add words that pull search towards measurement passages, so they only help when
    the problem alone finds nothing.
    """
    queries = [summary.problem]
    if summary.symptoms:
        queries.append(f"{summary.problem} {summary.symptoms}")
    return queries
