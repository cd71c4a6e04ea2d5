"""Forgetting and retention reach the insight tables (signals, the summary rows the dashboard
counts, the per-day section counts), on SQLite and on PostgreSQL. Tracker events are in the
application database, as on a PostgreSQL install."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

import pytest
from sqlalchemy import create_engine, inspect, select, text

from bot.db import downgrade_schema, session_scope, upgrade_schema
from bot.insights import aggregates
from bot.insights import signals as k
from bot.insights.aggregates import Period
from bot.insights.records import record_article_feedback
from bot.insights.signals import Signal, record_signals, remove_demo_data
from bot.models import InsightConversation, InsightPassageDay, InsightSignal, Lead
from bot.privacy.forget import export, forget
from bot.privacy.retention import run_retention
from bot.settings import Settings, load_settings
from tests.conftest import PROJECT_HOME
from tests.insights import fixture_data
from tests.insights.test_summaries import summary_rows

WEEK = Period(date(2026, 11, 30), date(2026, 12, 6))
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request) -> Settings:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    upgrade_schema(url)
    return load_settings(
        environ={"LANTERN_DB_URL": url, "LANTERN_TRACKER_DB_URL": url, "LANTERN_SECRET_KEY": "test-key"},
        home=PROJECT_HOME,
    )


def add_events(url: str, sender: str, said: Iterable[str], at: datetime) -> None:
    """Rasa's tracker rows, in a table shaped like SQLTrackerStore's."""
    engine = create_engine(url, future=True)
    key = "SERIAL PRIMARY KEY" if engine.dialect.name == "postgresql" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    with engine.begin() as connection:
        if not inspect(connection).has_table("events"):
            connection.execute(text(f"CREATE TABLE events (id {key}, sender_id VARCHAR(255) NOT NULL, "
                                    "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, data TEXT)"))
        for i, words in enumerate(said):
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, :d)"),
                {"s": sender, "t": at.timestamp() + i, "d": json.dumps({"event": "user", "text": words})},
            )
    engine.dispose()


def rows_holding(url: str, needles: Iterable[str]) -> list[str]:
    """'table: needle' for every row of every table in which one of `needles` appears."""
    needles = list(needles)
    found = []
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                values = [str(v) for v in row]
                # a short needle (an id) is a whole cell; a longer one anywhere in a cell
                found += [f"{table}: {n}" for n in needles if any(n == v or (len(n) > 6 and n in v) for v in values)]
    engine.dispose()
    return sorted(set(found))


def dashboard(url: str, period: Period = WEEK) -> dict[str, Any]:
    """What the dashboard's pages count over the period."""
    return {
        "funnel": [r["conversations"] for r in aggregates.funnel(url, period)],
        "outcomes": {r["outcome"]: r["conversations"] for r in aggregates.outcome_totals(url, period)},
        "problems": {(r["period"], r["topic"]): r["conversations"] for r in aggregates.problems_by_topic(url, period)},
        "phrasings": aggregates.problem_texts(url, period),
        "teaching": {r["article_id"]: (r["shown"], r["read_on"], r["related_followed"]) for r in aggregates.teaching_by_article(url, period)},
        "sections": {(r["article_id"], r["heading"]): (r["shown"], r["read_on"]) for r in aggregates.teaching_by_passage(url, period)},
        "sales": {r["measure"]: r["value"] for r in aggregates.handoff_summary(url, period)},
    }


# ---- forget ---------------------------------------------------------------------------

def test_forget_removes_every_insight_row_of_the_conversation_and_takes_it_out_of_every_count(settings: Settings) -> None:
    url = settings.db_url
    fixture_data.load(url)
    # c1: a problem, discovery, passages, read on, "helped"; c4: passages, asked to buy, a lead a rep took live
    for cid in ("c1", "c4"):
        add_events(url, cid, ["hello", "our problem in our words"], fixture_data.started(cid))
    before = dashboard(url)
    assert before["funnel"] == [8, 6, 6, 6, 4, 2, 2, 1]

    first = forget(settings, conversation_id="c1", now=NOW)
    second = forget(settings, conversation_id="c4", now=NOW)

    assert rows_holding(url, ["c1", "c4"]) == []  # no signal, summary, feedback, lead or handoff row names them
    after = dashboard(url)
    assert after["funnel"] == [6, 4, 4, 4, 2, 1, 1, 0]  # c1 helped, c4 a rep took it: neither counts anywhere
    assert after["outcomes"] == {"helped": 0, "read on": 1, "shown only": 1, "needed a person": 0, "not helped": 2}
    assert after["problems"] == {("2026-11-30", "seo"): 1, ("2026-12-01", "email-marketing"): 1,
                                 ("2026-12-04", "email-marketing"): 1}
    assert after["phrasings"] == [("newsletter in spam", 1), ("open rates are low", 1), ("we are not on google", 1)]
    assert after["teaching"]["a1"] == (1, 0, 1) and after["teaching"]["a2"] == (2, 1, 0)
    assert after["sections"][("a1", "Fix")] == (0, 0)  # only c1 ever read on to it
    assert (after["sales"]["conversations that asked to buy"], after["sales"]["leads"]) == (1, 1)

    # Exactly: the section counts left are the ones migration 0010 builds from the signals left,
    # i.e. what the conversations that remain would have left on their own (no row at zero).
    kept = summary_rows(url)
    downgrade_schema(url, "0009")
    upgrade_schema(url)
    assert summary_rows(url) == kept
    assert ("a1", "Fix") not in {(row.article_id, row.heading) for row in kept[1]}
    # and `forget` says what went (the audit row counts the same)
    assert (first.insight_signals, first.insight_conversations, first.feedback) == (4, 1, 1)
    assert "removed 4 insight signals" in first.lines()
    assert (second.insight_signals, second.insight_conversations, second.leads, second.handoffs) == (4, 1, 1, 1)


def test_forget_keeps_other_days_and_demo_section_counts_apart(settings: Settings) -> None:
    url = settings.db_url
    day = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)
    shown = Signal(k.SHOWN, topic="seo", article_id="a1", heading="Why")
    for cid in ("w-gone", "w-stays", "demo-stays"):
        record_signals(url, cid, "rest", [Signal(k.PROBLEM, topic="seo", text=f"{cid} says hi"), shown], now=day)
    record_signals(url, "w-gone", "rest", [shown, Signal(k.READ_ON, article_id="a1", heading=None)], now=day + timedelta(minutes=2))
    forget(settings, conversation_id="w-gone", now=NOW)
    with session_scope(url) as session:
        days = sorted((r.day.isoformat(), r.heading, r.is_demo, r.shown, r.read_on)
                      for r in session.execute(select(InsightPassageDay)).scalars())
        assert session.execute(select(InsightSignal).where(InsightSignal.conversation_id == "w-gone")).first() is None
    assert days == [("2026-12-01", "Why", False, 1, 0), ("2026-12-01", "Why", True, 1, 0)]  # the next day's rows are gone


# ---- retention ------------------------------------------------------------------------

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _conversation(url: str, cid: str, at: datetime, words: str, tracker: bool = True) -> None:
    if tracker:
        add_events(url, cid, [words], at)
    record_signals(url, cid, "rest", [
        Signal(k.PROBLEM, topic="seo", text=words), Signal(k.DISCOVERY, text=f"{words}, it costs us"),
        Signal(k.SHOWN, topic="seo", article_id="a1", heading="Why"),
    ], now=at)


def test_retention_expires_old_signals_and_keeps_the_counts_under_ids_that_name_no_one(settings: Settings) -> None:
    url = settings.db_url
    with session_scope(url) as session:
        fixture_data._article(session, "a1", "seo", ["Why", "Fix"])
    _conversation(url, "w-old", T0, "old visitor Ana Lopez")
    record_article_feedback(url, "w-old", "a1", helpful=True, now=T0)
    _conversation(url, "w-orphan", T0, "orphan visitor Ben", tracker=False)  # its events went before this fix
    _conversation(url, "demo-orphan", T0, "demo visitor Cleo", tracker=False)
    _conversation(url, "w-lead", T0, "lead visitor Dana")
    with session_scope(url) as session:
        session.add(Lead(created_at=T0, conversation_id="w-lead", channel="rest", name="Dana", email="dana@x.example",
                         follow_up="email", consent_contact=True, consent_storage=True, consent_at=T0,
                         intent_level="clear", intent_evidence="a quote", brief={}))
    _conversation(url, "w-long", T0, "long visitor Eve")  # came back on day 29
    add_events(url, "w-long", ["still here"], T0 + timedelta(days=29))
    record_signals(url, "w-long", "rest", [Signal(k.QUESTION, topic="seo", text="long visitor again")], now=T0 + timedelta(days=29))
    _conversation(url, "w-new", T0 + timedelta(days=29), "new visitor Finn")
    period = Period(date(2026, 10, 1), date(2026, 12, 31))
    before = dashboard(url, period)

    report = run_retention(settings, now=T0 + timedelta(days=settings.retention_days + 1))

    assert report.conversations_deleted == 1  # w-old; the orphans had no tracker events left
    gone = ["w-old", "w-orphan", "demo-orphan", "old visitor Ana Lopez", "orphan visitor Ben", "demo visitor Cleo"]
    assert rows_holding(url, gone) == []
    with session_scope(url) as session:
        left = sorted((s.conversation_id, s.text) for s in session.execute(select(InsightSignal)).scalars() if s.text)
        ids = sorted(session.execute(select(InsightConversation.conversation_id)).scalars())
        expired = session.execute(
            select(InsightConversation).where(InsightConversation.conversation_id.like("%expired-%"))
        ).scalars().all()
        assert [_utc(row.started_at) for row in expired] == [datetime(2026, 11, 1)] * 3  # cut to the day
    assert left == [("w-lead", "lead visitor Dana"), ("w-lead", "lead visitor Dana, it costs us"),
                    ("w-long", "long visitor again"), ("w-new", "new visitor Finn"), ("w-new", "new visitor Finn, it costs us")]
    assert [i for i in ids if not i.startswith(("expired-", "demo-expired-"))] == ["w-lead", "w-long", "w-new"]
    assert sum(i.startswith("demo-expired-") for i in ids) == 1 and len(ids) == 6
    assert report.insight_signals_deleted == 12 and report.insight_rows_anonymised == 3  # w-long's first turn too

    after = dashboard(url, period)
    assert after["phrasings"] == [("lead visitor dana", 1), ("long visitor again", 1), ("new visitor finn", 1)]
    for page in ("funnel", "outcomes", "problems", "teaching", "sections", "sales"):
        assert after[page] == before[page], page  # the counts stay: summary rows name no one and hold no text

    # A year on, the lead is anonymised and its conversation's signals go; it still counts as a lead.
    run_retention(settings, now=T0 + timedelta(days=settings.lead_retention_days + 1))
    assert rows_holding(url, ["w-lead", "lead visitor Dana"]) == []
    assert dashboard(url, period)["funnel"] == before["funnel"]
    assert remove_demo_data(url)["insight_conversations"] == 1  # demo traffic stays removable


def test_export_includes_the_insight_signals(settings: Settings) -> None:
    url = settings.db_url
    add_events(url, "w-x", ["I'm at ana@x.example"], NOW)
    record_signals(url, "w-x", "rest", [Signal(k.PROBLEM, topic="seo", text="not on google")], now=NOW)
    held = export(settings, "ana@x.example", now=NOW)
    assert [(s["conversation_id"], s["kind"], s["text"]) for s in held["insight_signals"]] == [("w-x", "problem", "not on google")]
