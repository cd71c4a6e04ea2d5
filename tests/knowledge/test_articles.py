from pathlib import Path
from textwrap import dedent
from typing import Optional

from bot.knowledge.articles import load_knowledge_base
from tests.conftest import COOKWARE_KB, DEFAULT_KB

TOPICS = dedent(
    """\
    company: Test Co
    topics:
      - id: alpha
        title: Alpha
      - id: beta
        title: Beta
    """
)


def article(article_id: str, **overrides: Optional[str]) -> str:
    fields = {
        "id": article_id,
        "title": f"Title of {article_id}",
        "url": f"https://example.com/{article_id}",
        "topics": "[alpha]",
        "kind": "education",
        "summary": "A summary.",
        "why_it_matters": "It matters.",
        "related": "[]",
    }
    body = overrides.pop("_body", "Intro.\n\n## First\nSome text.\n\n## Second\nMore text.\n")
    fields.update(overrides)
    front = "\n".join(f"{k}: {v}" for k, v in fields.items() if v is not None)
    return f"---\n{front}\n---\n{body}"


def make_kb(root: Path, articles: dict[str, str], topics: str = TOPICS) -> Path:
    (root / "articles").mkdir(parents=True)
    (root / "topics.yml").write_text(topics)
    for name, content in articles.items():
        (root / "articles" / name).write_text(content)
    return root


def messages(root: Path) -> list[str]:
    return [p.format(root) for p in load_knowledge_base(root).problems]


def test_the_default_knowledge_base_is_valid() -> None:
    kb = load_knowledge_base(DEFAULT_KB)
    assert kb.problems == []
    assert len(kb.articles) >= 48
    assert set(kb.topics) == {
        "website-traffic", "seo", "content-marketing", "social-media", "conversion",
        "email-marketing", "lead-nurturing", "analytics", "reviews-ugc", "paid-ads",
        "mobile-speed", "sales-marketing-alignment",
    }


def test_the_cookware_knowledge_base_is_valid() -> None:
    kb = load_knowledge_base(COOKWARE_KB)
    assert kb.problems == [] and kb.company == "Ember & Iron Cookware"


def test_a_sound_article_loads_with_its_sections(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a.md": article("a")})
    kb = load_knowledge_base(root)
    assert kb.ok
    (loaded,) = kb.articles
    assert [s.heading for s in loaded.sections] == ["First", "Second"]
    assert loaded.intro == "Intro."
    assert loaded.sections[0].line == 13


def test_every_problem_is_reported_at_once_with_file_and_line(tmp_path: Path) -> None:
    root = make_kb(
        tmp_path,
        {
            "bad-yaml.md": "---\nid: bad-yaml\ntitle: [unclosed\n---\n## S\ntext\n",
            "missing.md": article("missing", summary=None),
            "unknown-field.md": article("unknown-field", colour="red"),
            "bad-topic.md": article("bad-topic", topics="[alpha, gamma]"),
            "dup-1.md": article("dup"),
            "dup-2.md": article("dup"),
            "dangling.md": article("dangling", related="[nowhere]"),
            "empty.md": article("empty", _body="\n\n"),
            "no-sections.md": article("no-sections", _body="Just a paragraph, no sections.\n"),
            "empty-section.md": article("empty-section", _body="## Heading\n\n## Other\ntext\n"),
            "no-front-matter.md": "# Just markdown\n",
            "bad-kind.md": article("bad-kind", kind="advert"),
        },
    )
    found = "\n".join(messages(root))
    expected = [
        "articles/bad-yaml.md:3: invalid YAML in front matter",
        "articles/missing.md:1: missing required field `summary`",
        "articles/unknown-field.md:10: unknown field `colour`",
        "articles/bad-topic.md:5: topic 'gamma' is not declared in topics.yml",
        "duplicate id 'dup'",
        "articles/dangling.md:1: related article 'nowhere' does not exist",
        "articles/empty.md:11: article body is empty",
        "articles/no-sections.md:11: article has no `##` sections",
        "articles/empty-section.md:11: section 'Heading' is empty",
        "articles/no-front-matter.md:1: missing YAML front matter",
        "articles/bad-kind.md:6: kind 'advert' is not one of",
    ]
    for fragment in expected:
        assert fragment in found, f"{fragment!r} not reported in:\n{found}"


def test_broken_topics_file_is_reported(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a.md": article("a")}, topics="topics: [\n")
    assert any("topics.yml" in m and "invalid YAML" in m for m in messages(root))


def test_a_topic_without_a_title_is_reported_at_its_line(tmp_path: Path) -> None:
    topics = "company: Test\ntopics:\n  - id: alpha\n    title: Alpha\n  - id: beta\n    description: no title\n"
    root = make_kb(tmp_path, {"a.md": article("a")}, topics=topics)
    assert "topics.yml:5: topic #2 needs an `id` and a `title`" in messages(root)


def test_missing_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    assert "does not exist" in messages(tmp_path / "nope")[0]


def test_non_utf8_article_is_reported(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a.md": article("a")})
    (root / "articles" / "latin1.md").write_bytes("---\nid: caf\xe9\n---\n".encode("latin-1"))
    assert any("not UTF-8" in m for m in messages(root))


def test_the_default_knowledge_base_meets_the_content_brief() -> None:
    kb = load_knowledge_base(DEFAULT_KB)
    teaching = [a for a in kb.articles if a.kind in ("education", "case-study")]
    assert len(teaching) >= 48
    for topic in kb.topics:
        assert sum(a.primary_topic == topic or topic in a.topics for a in teaching) >= 3, topic
    assert any(a.kind == "pricing" for a in kb.articles)
    assert sum(a.kind == "service" for a in kb.articles) >= 5
    for article in teaching:
        body_words = len(" ".join([article.intro, *(s.heading + " " + s.text for s in article.sections)]).split())
        assert 250 <= body_words <= 700, (article.id, body_words)
        assert article.why_it_matters and article.asks and article.related, article.id


SALES_BOILERPLATE = ("contact us", "get in touch", "book a call", "request a quote", "free trial", "our team can help")


def test_education_articles_carry_no_sales_boilerplate() -> None:
    for article in load_knowledge_base(DEFAULT_KB).articles:
        if article.kind in ("education", "case-study"):
            text = " ".join([article.intro, *(s.text for s in article.sections)]).lower()
            assert not [p for p in SALES_BOILERPLATE if p in text], article.id


def test_synonyms_must_be_a_mapping_of_text(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a.md": article("a")}, topics=TOPICS + "synonyms: [cpc, ctr]\n")
    assert any("`synonyms` must map" in m for m in messages(root))
    good = make_kb(tmp_path / "good", {"a.md": article("a")}, topics=TOPICS + "synonyms:\n  CPC: cost per click\n")
    assert load_knowledge_base(good).synonyms == {"cpc": "cost per click"}
