"""The knowledge-base index in the application database, and search over the live index.

`write_index` replaces the whole index in one transaction, so readers see the old set or
the new one, never a mix; a knowledge base with problems is refused before anything is
written, and the last good index keeps serving. Each process keeps the index it last
loaded and reloads when the stored checksum changes, so several replicas always follow
the database rather than each other.

The sentence embeddings of the indexed texts are computed here, at index time, and stored
beside the rows (`kb_vectors`), filed by model and text: a re-index only encodes what
changed, and a process loading the index only encodes the visitor's query.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.db import session_scope
from bot.knowledge.articles import FRONT_MATTER, Article, KnowledgeBase, Problem, load_knowledge_base
from bot.knowledge.embeddings import SentenceEncoder, shared_encoder
from bot.knowledge.search import DenseVectors, IndexedArticle, IntentLevel, PassageIndex, SearchResult, embedded_texts
from bot.models import KbArticle, KbIndexState, KbPassage, KbVector


class KnowledgeBaseInvalid(Exception):
    """The knowledge base has problems; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the knowledge base")
        self.problems = problems


class IndexNotBuilt(Exception):
    """No index has been written to this database yet (run `lantern kb index`)."""


@dataclass(frozen=True)
class IndexReport:
    generation: int
    article_count: int
    passage_count: int
    checksum: str
    changed: bool


def checksum_of(articles: Iterable[IndexedArticle], synonyms: dict[str, str], topics: dict[str, str]) -> str:
    digest = hashlib.sha256(json.dumps([synonyms, topics], sort_keys=True).encode())
    for article in sorted(articles, key=lambda a: a.id):
        digest.update(json.dumps(article.__dict__, sort_keys=True, default=list).encode())
    return digest.hexdigest()


# Vectors this process computed, by key: the test suite indexes the same knowledge base
# into many fresh databases, and each would otherwise encode every text again.
_encoded: dict[str, bytes] = {}


def vectors_for(encoder: SentenceEncoder, texts: Sequence[str], stored: dict[str, bytes]) -> dict[str, bytes]:
    """The vector of each text by key, taken from `stored` or this process's cache, encoded if in neither."""
    keys = [encoder.vector_key(text) for text in texts]
    missing = {key: text for key, text in zip(keys, texts) if key not in stored and key not in _encoded}
    if missing:
        encoded = encoder.encode(list(missing.values())).astype("<f4")
        _encoded.update((key, vector.tobytes()) for key, vector in zip(missing, encoded))
    return {key: stored[key] if key in stored else _encoded[key] for key in keys}


def hybrid_index(
    articles: Sequence[IndexedArticle],
    synonyms: dict[str, str],
    topics: dict[str, str],
    stored: Optional[dict[str, bytes]] = None,
) -> PassageIndex:
    """The index the assistant serves: BM25 plus the texts' embeddings, taken from `stored`
    (the database's) when there, encoded otherwise (an index written before embeddings
    were stored, or a knowledge base searched straight from its files)."""
    encoder = shared_encoder()
    texts = [text for _, text in embedded_texts(articles)]
    vectors = vectors_for(encoder, texts, stored or {})  # by key: a text said twice is stored once
    rows = b"".join(vectors[encoder.vector_key(text)] for text in texts)
    matrix = np.frombuffer(rows, dtype="<f4").reshape(len(texts), -1)
    return PassageIndex(articles, synonyms, topics, DenseVectors(matrix, encoder))


def hybrid_index_of(kb: KnowledgeBase) -> PassageIndex:
    """`hybrid_index` of a knowledge base read from files (`lantern kb search --kb-dir`, `make eval-kb`)."""
    topics = {topic.id: topic.title for topic in kb.topics.values()}
    return hybrid_index([IndexedArticle.from_article(a) for a in kb.articles], kb.synonyms, topics)


def write_index(
    db_url: str,
    kb_dir: Path,
    progress: Optional[Callable[[Iterable[Article]], Iterable[Article]]] = None,
) -> IndexReport:
    """Validate `kb_dir` and, if it is sound, make it the live index in the database."""
    kb: KnowledgeBase = load_knowledge_base(kb_dir)
    if not kb.ok:
        raise KnowledgeBaseInvalid(kb.problems)
    indexed = [IndexedArticle.from_article(a) for a in kb.articles]
    topics = {topic.id: topic.title for topic in kb.topics.values()}
    checksum = checksum_of(indexed, kb.synonyms, topics)
    passage_count = sum(len(a.sections) for a in kb.articles)
    articles: Iterable[Article] = progress(kb.articles) if progress else kb.articles
    encoder = shared_encoder()
    texts = [text for _, text in embedded_texts(indexed)]

    with session_scope(db_url) as session:
        state = session.get(KbIndexState, 1)
        stored = {row.text_key: row.vector for row in session.execute(select(KbVector)).scalars()}
        vectors_stored = all(encoder.vector_key(text) in stored for text in texts)
        if state is not None and state.checksum == checksum and vectors_stored:
            return IndexReport(state.generation, state.article_count, state.passage_count, checksum, False)
    # Encoding can take many seconds: it happens before the writing transaction, not inside it.
    vectors = vectors_for(encoder, texts, stored)

    with session_scope(db_url) as session:
        state = session.get(KbIndexState, 1)
        session.execute(delete(KbVector))
        session.execute(delete(KbPassage))
        session.execute(delete(KbArticle))
        session.flush()
        session.add_all(KbVector(text_key=key, vector=vector) for key, vector in vectors.items())
        for article in articles:
            session.add(KbArticle(**_row_of(article), source_path=str(article.path)))
            session.flush()
            for position, section in enumerate(article.sections):
                session.add(
                    KbPassage(article_id=article.id, position=position, heading=section.heading, text=section.text)
                )
        generation = (state.generation if state else 0) + 1
        values = dict(
            generation=generation,
            built_at=datetime.now(timezone.utc),
            kb_dir=str(Path(kb_dir).resolve()),
            company=kb.company,
            article_count=len(kb.articles),
            passage_count=passage_count,
            checksum=checksum,
            synonyms=kb.synonyms,
            topics=topics,
        )
        if state is None:
            session.add(KbIndexState(id=1, **values))
        else:
            for key, value in values.items():
                setattr(state, key, value)
    return IndexReport(generation, len(kb.articles), passage_count, checksum, True)


def _row_of(article: Article) -> dict[str, Any]:
    """`KbArticle` columns of the article's front matter (lists are stored as JSON)."""
    return {name: list(value) if isinstance(value, tuple) else value for name, value in article.front_matter().items()}


def _from_column(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def read_index_state(db_url: str) -> Optional[KbIndexState]:
    try:
        with session_scope(db_url) as session:
            state: Optional[KbIndexState] = session.get(KbIndexState, 1)
            return state
    except (OperationalError, ProgrammingError):
        return None  # tables not created yet


def _read_index(db_url: str) -> tuple[list[IndexedArticle], dict[str, str], dict[str, str], dict[str, bytes]]:
    with session_scope(db_url) as session:
        stored = {row.text_key: row.vector for row in session.execute(select(KbVector)).scalars()}
        state = session.get(KbIndexState, 1)
        synonyms = dict(state.synonyms) if state is not None else {}
        topics = dict(state.topics) if state is not None else {}
        rows = session.execute(select(KbArticle).order_by(KbArticle.id)).scalars().all()
        passages = session.execute(
            select(KbPassage).order_by(KbPassage.article_id, KbPassage.position)
        ).scalars().all()
    sections: dict[str, list[tuple[str, str]]] = {}
    for passage in passages:
        sections.setdefault(passage.article_id, []).append((passage.heading, passage.text))
    articles = [
        IndexedArticle(
            **{name: _from_column(getattr(row, name)) for name in FRONT_MATTER},
            sections=tuple(sections.get(row.id, [])),
        )
        for row in rows
    ]
    return articles, synonyms, topics, stored


_loaded: dict[str, tuple[str, PassageIndex]] = {}
_load_lock = threading.Lock()


def load_live_index(db_url: str) -> PassageIndex:
    """The live index, rebuilt in memory only when the database holds a different one."""
    url = db_url
    state = read_index_state(url)
    if state is None:
        raise IndexNotBuilt("the knowledge base has not been indexed yet: run `lantern kb index`")
    cached = _loaded.get(url)
    if cached is not None and cached[0] == state.checksum:
        return cached[1]
    with _load_lock:
        cached = _loaded.get(url)
        if cached is None or cached[0] != state.checksum:
            articles, synonyms, topics, stored = _read_index(url)
            # Keyed by what was actually read, in case an index was written meanwhile.
            cached = (checksum_of(articles, synonyms, topics), hybrid_index(articles, synonyms, topics, stored))
            _loaded[url] = cached
    return cached[1]


def search_passages(
    db_url: str,
    query: str,
    k: int = 3,
    intent: IntentLevel = IntentLevel.NONE,
    exclude: Iterable[str] = (),
) -> list[SearchResult]:
    """Search the live index the assistant serves from."""
    return load_live_index(db_url).search(query, k=k, intent=intent, exclude=exclude)

