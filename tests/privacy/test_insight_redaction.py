"""Signal texts (the visitors' words the dashboard shows) are stored redacted like content
gaps, and migration 0011 masks those stored before, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, select, text

from bot.db import downgrade_schema, session_scope, upgrade_schema
from bot.insights import aggregates
from bot.insights import signals as k
from bot.insights.aggregates import Period
from bot.insights.signals import Signal, record_signals
from bot.models import InsightSignal

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
PERSONAL = "mail dana@harbourfoods.example or call +44 20 7946 0958, card 4111 1111 1111 1111"
MASKED = "mail [email] or call [phone], card [number]"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request) -> str:
    db_url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    upgrade_schema(db_url)
    return db_url


def test_signal_texts_the_dashboard_shows_are_stored_redacted(url: str) -> None:
    record_signals(url, "w-r", "rest", [
        Signal(k.PROBLEM, topic="seo", text=f"not on google, {PERSONAL}"), Signal(k.DISCOVERY, text=PERSONAL),
        Signal(k.ASKED_TO_BUY, text=f"a quote: {PERSONAL}"), Signal(k.GAP, text=PERSONAL),
    ], now=NOW)
    with session_scope(url) as session:
        stored = sorted(session.execute(select(InsightSignal.text)).scalars())
    assert stored == sorted([f"not on google, {MASKED}", MASKED, f"a quote: {MASKED}", MASKED])
    assert aggregates.problem_texts(url, Period(NOW.date(), NOW.date())) == [(f"not on google, {MASKED}", 1)]


def test_migration_0011_redacts_signal_texts_stored_before(url: str) -> None:
    downgrade_schema(url, "0010")
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        for kind, words in (("problem", f"slow site, {PERSONAL}"), ("shown", None), ("question", "no personal data here")):
            connection.execute(
                text("INSERT INTO insight_signals (conversation_id, kind, created_at, text) VALUES ('w-m', :k, :t, :x)"),
                {"k": kind, "t": NOW, "x": words},
            )
    engine.dispose()
    upgrade_schema(url)
    with session_scope(url) as session:
        stored = [s.text for s in session.execute(select(InsightSignal).order_by(InsightSignal.id)).scalars()]
    assert stored == [f"slow site, {MASKED}", None, "no personal data here"]
