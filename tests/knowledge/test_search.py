import pytest

from bot.knowledge.articles import load_knowledge_base
from bot.knowledge.search import IntentLevel, PassageIndex
from tests.conftest import COOKWARE_KB, DEFAULT_KB


@pytest.fixture(scope="module")
def index() -> PassageIndex:
    kb = load_knowledge_base(DEFAULT_KB)
    return PassageIndex.from_knowledge_base(kb)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("nobody visits our new website", "new-site-no-visitors"),
        ("our newsletter keeps ending up in spam", "emails-going-to-spam"),
        ("pages take forever to load on my phone", "slow-mobile-pages"),
        ("trafic droped sudenly last week", "traffic-dropped-suddenly"),  # typos
    ],
)
def test_visitor_language_finds_the_right_article(index: PassageIndex, query: str, expected: str) -> None:
    results = index.search(query, k=3)
    assert expected in [r.id for r in results]


def test_results_carry_the_best_matching_section(index: PassageIndex) -> None:
    (best, *_) = index.search("our emails land in the spam folder")
    section_headings = [h for h, _ in next(a for a in index.articles if a.id == best.id).sections]
    assert best.passage_heading in section_headings
    assert best.passage and best.url.startswith("https://")
    assert best.score > 0 and 0 < best.coverage <= 1


@pytest.mark.parametrize(
    "query",
    ["what's the weather in paris tomorrow", "how do i reset my router", "recipe for banana bread", "", "!!!"],
)
def test_off_domain_queries_return_nothing(index: PassageIndex, query: str) -> None:
    assert index.search(query) == []


def test_sales_pages_are_gated_by_intent(index: PassageIndex) -> None:
    query = "how much do you charge for seo work"
    kinds_at = {level: {r.kind for r in index.search(query, k=10, intent=level)} for level in IntentLevel}
    assert not kinds_at[IntentLevel.NONE] & {"service", "pricing"}
    assert "pricing" not in kinds_at[IntentLevel.INTEREST]
    assert "pricing" in kinds_at[IntentLevel.CLEAR]


def test_glossary_words_reach_articles_that_use_other_words(index: PassageIndex) -> None:
    assert "remarketing" in index.synonyms
    assert index.search("remarketing", k=1)[0].id == "visitors-never-return-retargeting"


def test_typos_are_corrected_to_words_of_the_knowledge_base(index: PassageIndex) -> None:
    (term,) = index.analyse("newsleter")
    assert term.alternatives == {"newslett"} and term.confidence < 1


def test_excluded_articles_are_skipped(index: PassageIndex) -> None:
    first = index.search("our emails go to spam", k=1)[0]
    again = index.search("our emails go to spam", k=3, exclude=[first.id])
    assert first.id not in [r.id for r in again]


def test_another_companys_knowledge_base_works_unchanged() -> None:
    kb = load_knowledge_base(COOKWARE_KB)
    cookware = PassageIndex.from_knowledge_base(kb)
    assert cookware.search("my skillet has gone rusty")[0].id == "rusty-cast-iron-skillet"
    assert cookware.search("my pan does nothing on the induction hob")[0].id == "pan-not-working-on-induction"
    assert cookware.search("my knife squashes tomatoes")[0].id == "dull-knife-crushes-tomatoes"
    assert cookware.search("our emails land in spam") == []
