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

_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")

# Function words and chat filler: they say nothing about which problem a visitor has.
STOPWORDS = frozenset(
    """
    a about above after again against all almost along already also although always am among an and
    another any anybody anyone anything anyway anywhere are arent around as at away back be became
    because become been before being below between both but by can cannot cant could couldnt did didnt
    do does doesnt doing done dont down during each either else enough etc even ever every everyone
    everything few for from further get gets getting go goes going gone got gotten had hadnt has hasnt
    have havent having he her here hers herself him himself his how hows however i id if ill im in
    instead into is isnt it its itself ive just kind least less let lets like likely lot lots made make
    makes many may maybe me might mine more most mostly much must my myself near need needs neither
    never no nobody none nor not nothing now of off often oh ok okay on once one only onto or other
    others otherwise our ours ourselves out over own per perhaps please pls quite rather really right
    said same say says seem seems several shall she should shouldnt since so some somebody someone
    something sometimes somewhat still such sure than thank thanks that thats the their theirs them
    themselves then there theres these they theyre thing things think this those though through thus
    till to too toward towards try trying um under until up upon us use used using very via want wants
    was wasnt way ways we well were werent weve what whats whatever when whenever where whereas wherever
    whether which while who whoever whole whom whose why will with within without wont would wouldnt
    yeah yes yet you youd youll your youre yours yourself yourselves youve hi hello hey anymore keep
    keeps kept tell know knows
    """.split()
)
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
    stemmed: str = _stemmer.stemWord(word)
    return stemmed


def terms(text: str) -> list[str]:
    """Search terms of `text`: stems of its content words, in order, with repeats."""
    return [stem(w) for w in words(text)]
