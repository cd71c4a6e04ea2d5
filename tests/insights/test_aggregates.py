"""The dashboard's SQL on fixtures with known answers, on SQLite and on PostgreSQL, with the
summary rows kept as the signals were recorded and with them rebuilt by migration 0010."""

from __future__ import annotations

from datetime import date

import pytest

from bot.db import downgrade_schema, upgrade_schema
from bot.insights import aggregates
from bot.insights.aggregates import Period
from tests.insights import fixture_data

WEEK = Period(date(2026, 11, 30), date(2026, 12, 6))
BEFORE_SUMMARIES = "0009"


@pytest.fixture(params=[
    "sqlite", "sqlite-backfilled",
    pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("postgres-backfilled", marks=pytest.mark.postgres),
])
def db(request) -> str:
    url = request.getfixturevalue("postgres_url" if request.param.startswith("postgres") else "sqlite_url")
    upgrade_schema(url)
    fixture_data.load(url)
    if request.param.endswith("-backfilled"):
        downgrade_schema(url, BEFORE_SUMMARIES)  # drops the summaries: only signals and feedback are left
        upgrade_schema(url)
    return url


def test_problems_by_topic_per_day_and_week(db: str) -> None:
    by_day = {(r["period"], r["topic"]): r["conversations"] for r in aggregates.problems_by_topic(db, WEEK, "day")}
    assert by_day == {("2026-11-30", "seo"): 2, ("2026-12-01", "email-marketing"): 1,
                      ("2026-12-02", "email-marketing"): 1, ("2026-12-04", "email-marketing"): 1}
    by_week = {(r["period"], r["topic"]): r["conversations"] for r in aggregates.problems_by_topic(db, WEEK, "week")}
    assert by_week == {("2026-11-30", "seo"): 2, ("2026-11-30", "email-marketing"): 3}


def test_problem_texts_are_counted_in_visitors_words(db: str) -> None:
    assert aggregates.problem_texts(db, WEEK) == [("newsletter in spam", 2), ("we are not on google", 2), ("open rates are low", 1)]


def test_funnel_counts_and_conversion(db: str) -> None:
    rows = aggregates.funnel(db, WEEK)
    # Furthest step: c1 helped, c2 got passages, c3 read on, c4 a rep took it, c8 got passages,
    # c9 a lead nobody took; c5 and c6 never described a problem. A direct question (c2, c8)
    # passes discovery, and a buyer who asked straight away (c9) every step before asking.
    assert [r["conversations"] for r in rows] == [8, 6, 6, 6, 4, 2, 2, 1]
    assert [r["step"] for r in rows] == list(aggregates.FUNNEL_STEPS)
    assert rows[1]["conversion_from_previous"] == 0.75 and rows[2]["conversion_from_previous"] == 1.0
    assert rows[4]["conversion_from_previous"] == 0.667 and rows[5]["conversion_from_previous"] == 0.5
    assert rows[7]["step"] == "a rep took it" and rows[7]["conversion_from_previous"] == 0.5
    assert rows[7]["of_visitors"] == round(1 / 8, 3)


def test_a_rep_took_it_reads_the_live_handoffs_not_the_notifications(db: str) -> None:
    from bot.db import session_scope
    from bot.models import OutboxNotification

    # c9's notification delivered does not make a rep take it; c4's failing does not undo it.
    with session_scope(db) as session:
        for notification in session.query(OutboxNotification):
            notification.status = "failed" if notification.idempotency_key == "k1" else "delivered"
    assert aggregates.funnel(db, WEEK)[-1]["conversations"] == 1
    assert aggregates.funnel(db, Period(date(2026, 12, 2), date(2026, 12, 2)))[-1]["conversations"] == 1  # c4's day
    assert aggregates.funnel(db, Period(date(2026, 12, 4), date(2026, 12, 4)))[-1]["conversations"] == 0  # c9's day


def test_outcome_per_conversation_and_its_trend(db: str) -> None:
    totals = {r["outcome"]: r["conversations"] for r in aggregates.outcome_totals(db, WEEK)}
    assert totals == {"helped": 1, "read on": 1, "shown only": 1, "needed a person": 1, "not helped": 2}
    trend = {r["period"]: (r["conversations"], r["score"]) for r in aggregates.outcome_trend(db, WEEK, "day")}
    assert trend == {"2026-11-30": (2, 50.0), "2026-12-01": (1, 75.0), "2026-12-02": (1, 25.0),
                     "2026-12-03": (1, 0.0), "2026-12-04": (1, 40.0)}
    (week,) = aggregates.outcome_trend(db, WEEK, "week")
    assert week["period"] == "2026-11-30" and week["score"] == 40.0 and week["not_helped"] == 2


def test_teaching_per_article_and_passage(db: str) -> None:
    articles = {r["article_id"]: r for r in aggregates.teaching_by_article(db, WEEK)}
    assert set(articles) == {"a1", "a2"}  # service pages are not teaching
    a1, a2 = articles["a1"], articles["a2"]
    assert (a1["shown"], a1["read_on"], a1["related_followed"], a1["helped"], a1["not_helped"]) == (2, 1, 1, 1, 1)
    assert (a2["shown"], a2["read_on"], a2["related_followed"], a2["helped"], a2["not_helped"]) == (3, 1, 0, 0, 0)
    assert [r["article_id"] for r in aggregates.never_helping(list(articles.values()))] == ["a2"]
    passages = aggregates.teaching_by_passage(db, WEEK)
    reached = {(r["article_id"], r["heading"]): (r["shown"], r["read_on"]) for r in passages}
    assert reached[("a1", "Why")] == (2, 1) and reached[("a2", "Intro")] == (3, 0) and reached[("a2", "More")] == (0, 1)
    assert [(r["article_id"], r["heading"]) for r in aggregates.never_reached(passages)] == [("a1", "Extra"), ("a2", "Unread")]


def test_gaps_counted_by_phrasing(db: str) -> None:
    rows = {r["question"]: (r["count"], r["conversations"]) for r in aggregates.gap_texts(db, WEEK)}
    assert rows == {"how do i get backlinks": (2, 2), "banana bread recipe": (1, 1)}


def test_what_gaps_cost_comes_from_discovery_answers_in_the_period(db: str) -> None:
    from bot.db import session_scope
    from bot.insights import signals as k
    from bot.insights.signals import Signal, record_signals
    from bot.models import ContentGap

    for cid, day in (("g-in", 5), ("g-out", 12)):
        record_signals(db, cid, "rest", [Signal(k.DISCOVERY, text=f"we lose orders ({cid})")], now=fixture_data.at(day))
        with session_scope(db) as session:
            session.add(ContentGap(conversation_id=cid, question="What is a backlink?", created_at=fixture_data.at(day, 11)))
    assert aggregates.impacts_of_gap_conversations(db, WEEK) == [("what is a backlink?", "we lose orders (g-in)")]


def test_sales_view(db: str) -> None:
    assert aggregates.leads_by_topic(db, WEEK) == [{"topic": "email-marketing", "leads": 1}, {"topic": "seo", "leads": 1}]
    c9, c4 = aggregates.leads_table(db, WEEK)
    assert c4["email"] == "d***@h***.example" and "dana" not in str(c4)
    assert c4["minutes_to_handoff"] == 10.0 and c4["notification"] == "delivered"
    assert c4["evidence"] == "can i get a quote?" and c4["problem"] == "newsletter in spam"
    # The handoff outcome is the live handoff's where there is one, not the notification's.
    assert c4["handoff"] == aggregates.REP_TOOK_IT and c9["handoff"] == aggregates.NOBODY_TOOK_IT
    assert c9["notification"] == "pending" and c9["minutes_to_handoff"] == 3.0
    summary = {r["measure"]: r["value"] for r in aggregates.handoff_summary(db, WEEK)}
    assert summary == {"conversations that asked to buy": 2, "leads": 2, "mean minutes from first message to handoff": 6.5,
                       "live handoffs asked for": 2, "live handoffs a rep took": 1,
                       "notifications delivered": 1, "notifications pending": 1}
    assert aggregates.handoff_outcomes(db, WEEK) == [{"outcome": aggregates.REP_TOOK_IT, "leads": 1},
                                                     {"outcome": aggregates.NOBODY_TOOK_IT, "leads": 1}]


def test_a_lead_without_a_live_handoff_has_its_notification_as_outcome(db: str) -> None:
    from bot.db import session_scope
    from bot.models import LiveHandoff, LiveHandoffTransition

    with session_scope(db) as session:
        session.query(LiveHandoffTransition).delete()
        session.query(LiveHandoff).delete()
    outcomes = {r["outcome"]: r["leads"] for r in aggregates.handoff_outcomes(db, WEEK)}
    assert outcomes == {"notification delivered": 1, "notification pending": 1}
    assert aggregates.funnel(db, WEEK)[-1]["conversations"] == 0


def test_a_period_without_data_is_empty_not_an_error(db: str) -> None:
    empty = Period(date(2025, 1, 1), date(2025, 1, 7))
    assert aggregates.problems_by_topic(db, empty) == [] and aggregates.outcome_trend(db, empty) == []
    assert [r["conversations"] for r in aggregates.funnel(db, empty)] == [0] * 8


def test_mask_email() -> None:
    assert aggregates.mask_email("dana@harbourfoods.example") == "d***@h***.example"
    assert aggregates.mask_email("x@localhost") == "x***@l***"
