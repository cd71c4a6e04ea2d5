from sqlalchemy import select

from bot.actions.feedback import ActionRecordHelpful
from bot.actions.teach import (
    ActionAnswerQuestion,
    ActionExplainWhy,
    ActionNextBest,
    ActionReflectAndTeach,
    ActionTellMore,
    ActionWhatElse,
)
from bot.conversation.discovery import SKIPPED
from bot.db import session_scope
from bot.knowledge.index_store import load_live_index
from bot.models import ArticleFeedback, ContentGap
from tests.actions.conftest import make_tracker, responses, run_action, with_db

DISCOVERED = {
    "problem": "our newsletter keeps landing in spam",
    "symptoms": "open rates dropped since march",
    "impact": "we lose repeat orders",
    "tried": SKIPPED,
}


def test_reflect_then_teach_restates_in_the_visitors_words_then_recommends(indexed_db: str) -> None:
    dispatcher, slots = run_action(ActionReflectAndTeach(settings=with_db(indexed_db)), make_tracker("no", slots=DISCOVERED))
    said = responses(dispatcher)
    assert said[0] == "utter_reflect"
    restatement = dispatcher.messages[0]["restatement"]
    assert "your newsletter keeps landing in spam" in restatement
    assert "it matters because you lose repeat orders" in restatement
    articles = [m for m in dispatcher.messages if m.get("response") == "utter_article"]
    assert 1 <= len(articles) <= 3
    assert articles[0]["url"].endswith("/emails-going-to-spam")
    assert all(m["why_it_matters"] and m["excerpt"] for m in articles)
    assert said[-1] == "utter_ask_feedback"
    assert slots["current_article"] == "emails-going-to-spam"
    assert len(slots["shown_articles"]) == len(articles)


def test_teaching_is_skipped_when_the_visitor_left(indexed_db: str) -> None:
    tracker = make_tracker("bye", slots={**DISCOVERED, "teach_after_discovery": False})
    dispatcher, slots = run_action(ActionReflectAndTeach(settings=with_db(indexed_db)), tracker)
    assert dispatcher.messages == [] and slots == {"teach_after_discovery": True}


def test_an_unanswerable_problem_is_admitted_and_logged_as_a_content_gap(indexed_db: str) -> None:
    tracker = make_tracker("x", slots={"problem": "my tractor engine overheats in summer"}, sender_id="gap-1")
    dispatcher, _ = run_action(ActionReflectAndTeach(settings=with_db(indexed_db)), tracker)
    said = responses(dispatcher)
    assert "utter_article" not in said
    assert said[-1] in ("utter_no_article", "utter_no_article_closest_topic")
    with session_scope(indexed_db) as session:
        gaps = session.execute(select(ContentGap)).scalars().all()
    assert [(g.conversation_id, g.question) for g in gaps] == [("gap-1", "my tractor engine overheats in summer")]
    assert gaps[0].created_at is not None


def test_a_question_is_answered_with_one_article(indexed_db: str) -> None:
    dispatcher, slots = run_action(
        ActionAnswerQuestion(settings=with_db(indexed_db)), make_tracker("how do we get customers to leave more reviews", intent="ask_question")
    )
    assert responses(dispatcher).count("utter_article") == 1
    assert slots["current_article"] == "too-few-reviews"


def test_tell_me_more_gives_the_next_section(indexed_db: str) -> None:
    article = load_live_index(indexed_db).article("emails-going-to-spam")
    first, second = article.sections[0][0], article.sections[1][0]
    slots = {"current_article": article.id, "current_heading": first, "shown_articles": [article.id]}
    dispatcher, new_slots = run_action(ActionTellMore(settings=with_db(indexed_db)), make_tracker("more", "tell_me_more", slots))
    assert dispatcher.messages[0]["response"] == "utter_more_passage"
    assert dispatcher.messages[0]["heading"] == second
    assert new_slots["current_heading"] == second


def test_follow_ups_without_a_recommendation_say_so(indexed_db: str) -> None:
    dispatcher, _ = run_action(ActionTellMore(settings=with_db(indexed_db)), make_tracker("more", "tell_me_more"))
    assert responses(dispatcher) == ["utter_nothing_shown_yet"]


def test_why_explains_what_the_problem_costs(indexed_db: str) -> None:
    slots = {"current_article": "emails-going-to-spam", "shown_articles": ["emails-going-to-spam"]}
    dispatcher, _ = run_action(ActionExplainWhy(settings=with_db(indexed_db)), make_tracker("why?", "ask_why", slots))
    assert responses(dispatcher)[0] in ("utter_more_passage", "utter_why_it_matters")


def test_what_else_points_to_a_related_pain_point(indexed_db: str) -> None:
    index = load_live_index(indexed_db)
    slots = {"current_article": "slow-mobile-pages", "shown_articles": ["slow-mobile-pages"]}
    dispatcher, new_slots = run_action(ActionWhatElse(settings=with_db(indexed_db)), make_tracker("what else", "what_else", slots))
    assert responses(dispatcher)[0] == "utter_related_intro"
    assert new_slots["current_article"] in index.article("slow-mobile-pages").related


def test_that_did_not_help_never_repeats_and_is_recorded(indexed_db: str) -> None:
    slots = {
        "current_article": "emails-going-to-spam",
        "shown_articles": ["emails-going-to-spam"],
        "last_query": "our newsletter lands in spam",
    }
    tracker = make_tracker("that didn't help", "not_helpful", slots, sender_id="fb-1")
    dispatcher, new_slots = run_action(ActionNextBest(settings=with_db(indexed_db)), tracker)
    assert new_slots.get("current_article") not in (None, "emails-going-to-spam")
    with session_scope(indexed_db) as session:
        (row,) = session.execute(select(ArticleFeedback)).scalars().all()
    assert (row.conversation_id, row.article_id, row.helpful, row.comment) == (
        "fb-1", "emails-going-to-spam", False, "that didn't help"
    )


def test_helpful_feedback_is_stored_per_article(indexed_db: str) -> None:
    slots = {"current_article": "too-few-reviews"}
    dispatcher, _ = run_action(ActionRecordHelpful(settings=with_db(indexed_db)), make_tracker("/feedback_helpful", "feedback_helpful", slots))
    assert responses(dispatcher) == ["utter_thanks_for_feedback"]
    with session_scope(indexed_db) as session:
        (row,) = session.execute(select(ArticleFeedback)).scalars().all()
    assert (row.article_id, row.helpful, row.comment) == ("too-few-reviews", True, None)


def test_search_outage_gets_an_apology(tmp_path) -> None:
    dispatcher, _ = run_action(
        ActionAnswerQuestion(settings=with_db(f"sqlite:///{tmp_path / 'none.db'}")), make_tracker("emails spam", "ask_question")
    )
    assert responses(dispatcher) == ["utter_search_unavailable"]
