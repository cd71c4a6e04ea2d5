"""Search as the assistant serves it: BM25 fused with MiniLM embeddings stored with the index."""

import pytest

from bot.db import upgrade_schema
from bot.knowledge.articles import load_knowledge_base
from bot.knowledge.index_store import search_passages, write_index
from bot.knowledge.search import MIN_COSINE, PassageIndex
from tests.conftest import DEFAULT_KB

# Shares "lead", "team", "new" and "manage" with the knowledge base: words alone cannot reject it.
NEAR_MISS = "how to lead a team meeting when you're a new manager"


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('hybrid') / 'lantern.db'}"
    upgrade_schema(url)
    write_index(url, DEFAULT_KB)
    return url


def test_the_meaning_gate_rejects_a_near_miss_that_bm25_alone_answers(live_url: str) -> None:
    assert PassageIndex.from_knowledge_base(load_knowledge_base(DEFAULT_KB)).search(NEAR_MISS)
    assert search_passages(live_url, NEAR_MISS) == []


def test_answers_carry_their_similarity_and_a_real_section(live_url: str) -> None:
    (best, *_) = search_passages(live_url, "our newsletter ends up in the junk folder")
    assert best.id == "emails-going-to-spam"
    assert best.similarity is not None and best.similarity >= MIN_COSINE
    assert best.passage_heading != "Overview"

