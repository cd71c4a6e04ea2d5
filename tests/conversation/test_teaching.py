import pytest

from bot.conversation import teaching
from bot.knowledge.articles import load_knowledge_base
from bot.knowledge.search import IntentLevel, PassageIndex
from tests.conftest import DEFAULT_KB


@pytest.fixture(scope="module")
def index() -> PassageIndex:
    return PassageIndex.from_knowledge_base(load_knowledge_base(DEFAULT_KB))


def test_excerpt_drops_markdown_and_cuts_at_a_sentence() -> None:
    text = "**Bold** start.\n- a list item\n- another. " + "More words here. " * 40
    short = teaching.excerpt(text, limit=120)
    assert "**" not in short and "- " not in short and short.startswith("Bold start. a list item")
    assert len(short) <= 120 and short.endswith(".")


def test_best_articles_falls_back_to_the_next_query(index: PassageIndex) -> None:
    results = teaching.best_articles(index, ["zebra quantum lasagne", "our emails go to spam"])
    assert results[0].id == "emails-going-to-spam"


def test_best_articles_never_repeats_shown_articles(index: PassageIndex) -> None:
    results = teaching.best_articles(index, ["our emails go to spam"], k=3, exclude=["emails-going-to-spam"])
    assert "emails-going-to-spam" not in [r.id for r in results]


def test_next_section_walks_the_article_then_stops(index: PassageIndex) -> None:
    article = index.article("emails-going-to-spam")
    headings = [h for h, _ in article.sections]
    assert teaching.next_section(article, headings[0], headings[0])[0] == headings[1]
    assert teaching.next_section(article, headings[-1], headings[0]) is None
    # Opened in the middle: wraps to the start, stops when back where it opened.
    assert teaching.next_section(article, headings[-1], headings[2])[0] == headings[0]
    assert teaching.next_section(article, headings[1], headings[2]) is None
    assert teaching.next_section(article, "not a heading")[0] == headings[0]


def test_related_article_skips_what_was_shown_and_sales_pages(index: PassageIndex) -> None:
    article = index.article("slow-mobile-pages")
    first = teaching.related_article(index, article, shown=[])
    assert first is not None and first.id in article.related and first.kind not in ("service", "pricing")
    second = teaching.related_article(index, article, shown=[first.id])
    assert second is None or second.id != first.id


def test_sales_pages_are_hidden_at_no_intent(index: PassageIndex) -> None:
    pricing = index.article("pricing")
    assert not index.may_show(pricing, IntentLevel.NONE)
    assert index.may_show(pricing, IntentLevel.CLEAR)


def test_closest_topic_names_a_topic_title_or_nothing(index: PassageIndex) -> None:
    assert teaching.closest_topic(index, "qwxz vbnm") is None
    assert teaching.closest_topic(index, "how do i stop my tractor engine overheating in summer?") is None
    assert teaching.closest_topic(index, "email spam folder") == "Email marketing"
