"""The summary rows the dashboard counts: kept as signals and feedback are recorded, rebuilt
by migration 0010 from what is stored, and the two agree, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import downgrade_schema, session_scope, upgrade_schema
from bot.insights import signals as k
from bot.insights.records import record_article_feedback
from bot.insights.signals import Signal, record_signals, remove_demo_data
from bot.models import InsightConversation, InsightPassageDay
from tests.insights import fixture_data

NOW = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)
A_TURN = (
    Signal(k.QUESTION, topic=None, text="why is my site slow"),
    Signal(k.GAP, text="why is my site slow"),
    Signal(k.PROBLEM, topic="mobile-speed", text="slow on phones"),
    Signal(k.SHOWN, topic="mobile-speed", article_id="slow", heading="Why"),
    Signal(k.READ_ON, article_id="slow", heading="Fix"),
    Signal(k.PROBLEM, topic="seo", text="and not on google"),
    Signal(k.RELATED, article_id="seo-basics", heading="Start"),
    Signal(k.ASKED_TO_BUY, text="a quote please"),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request) -> str:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    upgrade_schema(url)
    return url


def summary_rows(db_url: str) -> tuple[list[Any], list[Any]]:
    with session_scope(db_url) as session:
        conversations = session.execute(
            select(InsightConversation.__table__).order_by(InsightConversation.conversation_id)
        ).all()
        passages = session.execute(
            select(InsightPassageDay.__table__).order_by(InsightPassageDay.day, InsightPassageDay.article_id, InsightPassageDay.heading)
        ).all()
    return list(conversations), list(passages)


def test_the_backfill_gives_the_rows_recording_kept(db: str) -> None:
    fixture_data.load(db)
    record_signals(db, "demo-1", "socketio", A_TURN, now=NOW)
    record_article_feedback(db, "feedback-only", "a1", helpful=True, now=NOW)  # no signal ever came
    kept = summary_rows(db)
    downgrade_schema(db, "0009")
    upgrade_schema(db)
    assert summary_rows(db) == kept
    conversations, passages = kept
    assert len(conversations) == 11 and sum(row.shown for row in passages) == 7


def test_a_conversation_row_does_not_depend_on_how_its_turns_were_split(db: str) -> None:
    record_signals(db, "at-once", "rest", A_TURN, now=NOW)
    for minute, signal in enumerate(A_TURN):
        record_signals(db, "one-by-one", "rest", [signal], now=NOW + timedelta(minutes=minute))
    with session_scope(db) as session:
        at_once, one_by_one = (session.get(InsightConversation, cid) for cid in ("at-once", "one-by-one"))
        columns = [c.name for c in InsightConversation.__table__.columns if c.name not in ("conversation_id", "started_at")]
        assert {c: getattr(at_once, c) for c in columns} == {c: getattr(one_by_one, c) for c in columns}
    assert at_once.topic == "mobile-speed"  # the first problem an article answered, not the first question
    assert (at_once.described_problem, at_once.met_gap, at_once.read_on, at_once.asked_to_buy) == (True, True, True, True)
    assert not at_once.said_helped and not at_once.answered_discovery
    assert str(at_once.started_day) == "2026-12-01"
    with session_scope(db) as session:
        days = {(r.day.isoformat(), r.article_id, r.heading): (r.shown, r.read_on, r.related)
                for r in session.execute(select(InsightPassageDay)).scalars()}
    # one-by-one started at 23:59 and was shown its passages after midnight: each day counts its own
    sections = {("slow", "Why"): (1, 0, 0), ("slow", "Fix"): (0, 1, 0), ("seo-basics", "Start"): (0, 0, 1)}
    assert days == {(day, *section): counts for day in ("2026-12-01", "2026-12-02") for section, counts in sections.items()}


def test_feedback_first_notes_the_conversation_and_signals_keep_its_start(db: str) -> None:
    record_article_feedback(db, "v1", "a1", helpful=False, now=NOW)
    record_signals(db, "v1", "slack", [Signal(k.SHOWN, article_id="a1", heading="Why")], now=NOW + timedelta(days=1))
    record_article_feedback(db, "v1", "a1", helpful=True, now=NOW + timedelta(days=1))
    with session_scope(db) as session:
        row = session.get(InsightConversation, "v1")
        assert (row.started_day.isoformat(), row.channel) == ("2026-12-01", "slack")
        assert (row.said_helped, row.said_not_helped, row.got_passages, row.is_demo) == (True, True, True, False)


def test_concurrent_turns_of_a_new_conversation_make_one_row_and_lose_nothing(db: str) -> None:
    racers = 6
    start = threading.Barrier(racers)
    errors: list[BaseException] = []

    def racer(n: int) -> None:
        start.wait()
        try:
            record_signals(db, "raced", "rest", [A_TURN[n % len(A_TURN)], Signal(k.SHOWN, article_id="slow", heading="Why")], now=NOW)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(db) as session:
        row = session.get(InsightConversation, "raced")
        assert (row.described_problem, row.met_gap, row.got_passages, row.read_on) == (True, True, True, True)
        shown = session.execute(select(InsightPassageDay.shown).where(InsightPassageDay.heading == "Why")).scalar_one()
    assert shown == racers + 1  # each racer's extra passage, and racer 3's own SHOWN


def test_removing_demo_traffic_removes_its_section_counts_only(db: str) -> None:
    record_signals(db, "demo-9", "rest", [Signal(k.SHOWN, article_id="slow", heading="Why")], now=NOW)
    record_signals(db, "real-9", "rest", [Signal(k.SHOWN, article_id="slow", heading="Why")], now=NOW)
    removed = remove_demo_data(db)
    assert removed["insight_passage_days"] == 1 and removed["insight_conversations"] == 1
    _, passages = summary_rows(db)
    assert [(row.article_id, row.is_demo, row.shown) for row in passages] == [("slow", False, 1)]
