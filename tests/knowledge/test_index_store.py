import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import session_scope, upgrade_schema
from bot.knowledge.articles import load_knowledge_base
from bot.knowledge.embeddings import shared_encoder
from bot.knowledge.index_store import (
    IndexNotBuilt,
    KnowledgeBaseInvalid,
    load_live_index,
    read_index_state,
    search_passages,
    write_index,
)
from bot.knowledge.search import IndexedArticle, embedded_texts
from bot.models import KbArticle, KbPassage, KbVector
from tests.conftest import COOKWARE_KB, DEFAULT_KB


def copy_kb(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def roundtrip(url: str) -> None:
    report = write_index(url, DEFAULT_KB)
    assert report.changed and report.generation == 1
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(KbArticle)) == report.article_count
        assert session.scalar(select(func.count()).select_from(KbPassage)) == report.passage_count
    results = search_passages(url, "our newsletter ends up in spam")
    assert results and results[0].id == "emails-going-to-spam"
    again = write_index(url, DEFAULT_KB)
    assert not again.changed and again.generation == 1


def test_index_roundtrip_on_sqlite(sqlite_url: str) -> None:
    roundtrip(sqlite_url)


@pytest.mark.postgres
def test_index_roundtrip_on_postgres(postgres_url: str) -> None:
    upgrade_schema(postgres_url)
    roundtrip(postgres_url)


def test_searching_before_indexing_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(IndexNotBuilt):
        load_live_index(url)
    assert read_index_state(url) is None


def test_a_broken_article_is_refused_and_the_last_good_index_keeps_serving(
    sqlite_url: str, tmp_path: Path
) -> None:
    kb = copy_kb(COOKWARE_KB, tmp_path / "kb")
    write_index(sqlite_url, kb)
    before = read_index_state(sqlite_url)
    (kb / "articles" / "broken.md").write_text("---\nid: broken\ntitle: [oops\n---\n## A\ntext\n")
    with pytest.raises(KnowledgeBaseInvalid) as refused:
        write_index(sqlite_url, kb)
    assert any("broken.md" in str(p.path) for p in refused.value.problems)
    assert read_index_state(sqlite_url).checksum == before.checksum
    assert search_passages(sqlite_url, "rust spots on my cast iron skillet")[0].id == "rusty-cast-iron-skillet"


def test_reindexing_after_an_edit_changes_answers_without_a_restart(sqlite_url: str, tmp_path: Path) -> None:
    kb = copy_kb(COOKWARE_KB, tmp_path / "kb")
    write_index(sqlite_url, kb)
    assert search_passages(sqlite_url, "my copper kettle has gone green and blotchy") == []
    (kb / "articles" / "tarnished-copper-kettle.md").write_text(
        "---\nid: tarnished-copper-kettle\ntitle: Why a copper kettle turns green\n"
        "url: https://emberandiron.example/guides/tarnished-copper-kettle\ntopics: [cast-iron-care]\n"
        "kind: education\nsummary: Copper kettles tarnish green and blotchy.\n"
        "why_it_matters: Tarnish spreads if left.\n---\n"
        "## Green blotches on a copper kettle\nCopper reacts with air and water, so a kettle goes green and blotchy.\n"
    )
    report = write_index(sqlite_url, kb)
    assert report.changed and report.generation == 2
    results = search_passages(sqlite_url, "my copper kettle has gone green and blotchy")
    assert results and results[0].id == "tarnished-copper-kettle"


def test_reindexing_stores_the_vectors_of_exactly_the_current_texts(sqlite_url: str, tmp_path: Path) -> None:
    kb = copy_kb(COOKWARE_KB, tmp_path / "kb")
    write_index(sqlite_url, kb)
    article = kb / "articles" / "rusty-cast-iron-skillet.md"
    before = [IndexedArticle.from_article(a) for a in load_knowledge_base(kb).articles]
    article.write_text(article.read_text(encoding="utf-8").replace("## Keeping rust away", "## Keeping rust at bay"))
    write_index(sqlite_url, kb)

    encoder = shared_encoder()
    articles = [IndexedArticle.from_article(a) for a in load_knowledge_base(kb).articles]
    expected = {encoder.vector_key(text) for _, text in embedded_texts(articles)}
    with session_scope(sqlite_url) as session:
        stored = set(session.scalars(select(KbVector.text_key)))
    outdated = {encoder.vector_key(text) for _, text in embedded_texts(before)} - expected
    assert outdated and stored == expected
