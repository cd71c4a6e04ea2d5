"""Turning visitor messages and article text into search terms.

Terms are lowercase word stems without stopwords, so "visits", "visitors" and
"visiting" meet. Contractions lose their apostrophe ("don't" -> "dont") because
visitors type them both ways.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
# Words that carry no topic in a visitor's question, on top of the usual stopwords.
_CHAT_FILLER = frozenset(
    {
        "hi", "hello", "hey", "pls", "please", "thanks", "thank", "ok", "okay", "um", "im",
        "ive", "dont", "doesnt", "cant", "wont", "isnt", "arent", "didnt", "theres",
        "whats", "hows", "why", "really", "just", "get", "got", "getting", "also", "even",
        "still", "anyone", "anything", "something", "know", "like", "would", "could",
        "should", "us", "our", "ours", "we", "me", "my", "mine", "youre", "lot", "lots",
        "much", "many", "way", "ways", "thing", "things", "keep", "keeps", "help",
    }
)
STOPWORDS = frozenset(STOPWORDS_EN) | _CHAT_FILLER
_stemmer = snowballstemmer.stemmer("english")


def normalize(text: str) -> str:
    """Lowercase ASCII-folded text with apostrophes removed."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _APOSTROPHES.sub("", folded.lower())


def words(text: str) -> list[str]:
    """Content words of `text`, unstemmed (for typo correction)."""
    return [w for w in _WORD.findall(normalize(text)) if w not in STOPWORDS and len(w) > 1]


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    """Search terms of `text`: stems of its content words, in order, with repeats."""
    return [stem(w) for w in words(text)]
