"""Dashboard latency at scale: seed 100,000 conversations into PostgreSQL, then time every
page through HTTP (`make bench-insights`; results in docs/insights.md). A benchmark, not a test.

    python -m bot.evaluation.insights_bench [--db-url URL] [--conversations 100000] [--requests 30] [--reseed]

The seeded conversations are spread over the last 90 days and made of the demo traffic's
phrasings (bot/insights/demo_traffic.py), with the same mix of problems, follow-ups,
feedback, gaps and buyers (some of whom ask for a rep live); ids start with `demo-seed-`, so
`lantern demo-traffic --remove` clears them too.

The seeder writes what the application stores besides its summaries, on the schema before them
(migration 0009), then upgrades: migration 0010 builds the summary rows as it would on an
installation that already has data, and its time is printed. The page timings are followed by
what drawing each page's charts costs when none is kept (`bot.insights.charts`): repeated
requests for one page are served kept charts, live data changes them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from sqlalchemy import create_engine, func, insert, select, text

from bot.db import downgrade_schema, upgrade_schema
from bot.handoff import live
from bot.insights import charts
from bot.insights import signals as k
from bot.insights.aggregates import Period
from bot.insights.dashboard import PAGES, Dashboard, make_dashboard_server
from bot.insights.demo_traffic import FOLLOW_UPS, IN_DOMAIN_GAPS, OFF_DOMAIN, PROBLEMS
from bot.knowledge.embeddings import shared_encoder
from bot.knowledge.index_store import load_live_index, read_index_state, write_index
from bot.models import (
    ArticleFeedback,
    ContentGap,
    InsightConversation,
    InsightSignal,
    Lead,
    LiveHandoff,
    LiveHandoffTransition,
    OutboxNotification,
)
from bot.settings import get_settings

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/lantern_insights_bench"
BATCH = 5000
BEFORE_SUMMARIES = "0009"  # the schema the seeder writes; migration 0010 adds the summaries
SEEDED_TABLES = (
    "live_handoff_transitions", "live_handoffs", "notification_outbox", "leads", "article_feedback", "content_gaps",
    "insight_signals", "insight_conversations",
)


def ensure_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(text("select 1 from pg_database where datname = :n"), {"n": parsed.database}).first():
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def seed(url: str, conversations: int, seed_value: int = 11) -> None:
    """Bulk-insert `conversations` conversations with their signals, feedback, gaps and leads."""
    rng = random.Random(seed_value)
    engine = create_engine(url, future=True, executemany_mode="values_plus_batch")
    now = datetime.now(timezone.utc)
    index = load_live_index(url)
    by_topic: dict[str, list[Any]] = {}
    for article in index.articles:
        if article.kind != "service" and article.topics:
            by_topic.setdefault(article.topics[0], []).append(article)
    rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in (InsightConversation, InsightSignal, ArticleFeedback, ContentGap, Lead)}
    lead_count = 0

    def flush(final: bool = False) -> None:
        with engine.begin() as connection:
            for model, batch in rows.items():
                if batch and (final or len(batch) >= BATCH):
                    if model is Lead:
                        ids = connection.execute(insert(Lead).returning(Lead.id), batch).scalars().all()
                        connection.execute(insert(OutboxNotification), [
                            {"lead_id": i, "target": "crm", "idempotency_key": f"seed-{i}", "payload": {},
                             "status": rng.choice(("delivered", "delivered", "delivered", "pending", "failed")),
                             "attempts": 1, "next_attempt_at": now} for i in ids])
                        seed_live_handoffs(connection, rng, [(i, lead) for i, lead in zip(ids, batch) if lead["follow_up"] == "chat now"])
                    else:
                        connection.execute(insert(model), batch)
                    batch.clear()

    for n in range(conversations):
        cid = f"demo-seed-{n:06d}"
        started = now - timedelta(seconds=rng.randint(0, 90 * 86400))
        rows[InsightConversation].append({"conversation_id": cid, "started_at": started, "channel": "rest", "is_demo": True})

        def signal(kind: str, minute: float, **fields: Any) -> None:
            rows[InsightSignal].append({"conversation_id": cid, "kind": kind, "created_at": started + timedelta(minutes=minute),
                                        "topic": None, "article_id": None, "heading": None, "text": None, **fields})

        roll = rng.random()
        if roll < 0.25:
            question = rng.choice(rng.choice(IN_DOMAIN_GAPS))
            signal(k.QUESTION, 1, text=question)
            signal(k.GAP, 1, text=question)
            rows[ContentGap].append({"conversation_id": cid, "question": question, "closest_topic": None,
                                     "created_at": started + timedelta(minutes=1)})
        elif roll < 0.33:
            question = rng.choice(OFF_DOMAIN)
            signal(k.GAP, 1, text=question)
            rows[ContentGap].append({"conversation_id": cid, "question": question, "closest_topic": None,
                                     "created_at": started + timedelta(minutes=1)})
        elif roll < 0.93:
            topic = rng.choice(sorted(PROBLEMS))
            problem, _, impact, _ = rng.choice(PROBLEMS[topic])
            article = rng.choice(by_topic.get(topic) or index.articles)
            signal(k.PROBLEM, 2, topic=topic, text=problem)
            signal(k.DISCOVERY, 2, text=impact)
            signal(k.SHOWN, 3, topic=topic, article_id=article.id, heading=article.sections[0][0])
            depth = rng.random()
            if depth < 0.5 and len(article.sections) > 1:
                for step in range(1, rng.randint(1, len(article.sections) - 1) + 1):
                    signal(k.READ_ON, 3 + step, article_id=article.id, heading=article.sections[step][0])
            if depth < 0.6:
                rows[ArticleFeedback].append({"conversation_id": cid, "article_id": article.id, "helpful": rng.random() < 0.7,
                                              "comment": rng.choice(FOLLOW_UPS), "created_at": started + timedelta(minutes=6)})
            if rng.random() < 0.08:
                signal(k.ASKED_TO_BUY, 8, text="can i get a quote for fixing this?")
                if rng.random() < 0.6:
                    lead_count += 1
                    signal(k.LEAD, 12, topic=topic, article_id=article.id)
                    rows[Lead].append({
                        "created_at": started + timedelta(minutes=12), "conversation_id": cid, "channel": "rest",
                        "name": "Seed Visitor", "email": f"seed{n}@demo.example", "company": None,
                        "follow_up": "chat now" if rng.random() < 0.4 else "email",
                        "consent_contact": True, "consent_storage": True, "consent_at": started, "intent_level": "clear",
                        "intent_evidence": "can i get a quote for fixing this?", "brief": {"problem": problem}})
        flush()
    flush(final=True)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()
    print(f"seeded {conversations} conversations ({lead_count} leads) into {url}")


def seed_live_handoffs(connection: Any, rng: random.Random, leads: list[tuple[int, dict[str, Any]]]) -> None:
    """Leads that chose "Chat now": most are taken by a rep and handed back, some wait in vain."""
    for lead_id, lead in leads:
        asked = lead["created_at"]
        taken = rng.random() < 0.7
        row = {"conversation_id": lead["conversation_id"], "visitor_channel": "rest", "lead_id": lead_id, "requested_at": asked,
               "state": live.WITH_BOT, "taken_at": asked + timedelta(minutes=1) if taken else None,
               "ended_at": asked + timedelta(minutes=12 if taken else 3), "end_reason": live.HANDED_BACK if taken else live.TIMED_OUT}
        handoff_id = connection.execute(insert(LiveHandoff).returning(LiveHandoff.id), row).scalar_one()
        steps = [(live.WITH_BOT, live.WAITING, asked)]
        if taken:
            steps += [(live.WAITING, live.WITH_REP, row["taken_at"]), (live.WITH_REP, live.WITH_BOT, row["ended_at"])]
        else:
            steps.append((live.WAITING, live.WITH_BOT, row["ended_at"]))
        connection.execute(insert(LiveHandoffTransition), [
            {"handoff_id": handoff_id, "from_state": before, "to_state": after, "at": at, "by": "seed"} for before, after, at in steps])


def chart_costs(url: str, days: int, repeats: int = 5) -> dict[str, float]:
    """Per page, the median ms to draw its charts with none kept."""
    dashboard = Dashboard(replace(get_settings(), db_url=url), shared_encoder)
    period = Period.last_days(days)
    costs = {}
    for slug, _ in PAGES:
        tables = dashboard.tables(slug, period, "day")
        times = []
        for _ in range(repeats):
            charts.forget_drawn()
            started = time.perf_counter()
            dashboard.charts(slug, tables)
            times.append((time.perf_counter() - started) * 1000)
        costs[slug] = statistics.median(times)
    return costs


def measure(url: str, requests_per_page: int, days: int) -> list[tuple[str, float, float]]:
    settings = replace(get_settings(), db_url=url, dashboard_token="bench", dashboard_port=0)
    server = make_dashboard_server(settings, shared_encoder)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    end = datetime.now(timezone.utc).date()
    params = {"start": (end - timedelta(days=days - 1)).isoformat(), "end": end.isoformat()}
    results = []
    with requests.Session() as session:
        session.headers["Authorization"] = "Bearer bench"
        for slug, _ in PAGES:
            session.get(f"{base}/{slug}", params=params).raise_for_status()  # warm: encoder, index, vector cache
            times = []
            for _ in range(requests_per_page):
                started = time.perf_counter()
                session.get(f"{base}/{slug}", params=params).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            results.append((slug, statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)]))
    server.shutdown()
    return results


def reseed(url: str, conversations: int) -> None:
    """Seed on the schema before the summaries, then let migration 0010 build them (timed)."""
    downgrade_schema(url, BEFORE_SUMMARIES)
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        for table in SEEDED_TABLES:
            connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    started = time.perf_counter()
    seed(url, conversations)
    print(f"seeding took {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    upgrade_schema(url, "0010")
    print(f"migration 0010 built the summaries in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    upgrade_schema(url)
    print(f"migrations after 0010 (0011 redacts stored signal texts) took {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", default=DEFAULT_URL)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    ensure_database(args.db_url)
    started = time.perf_counter()
    upgrade_schema(args.db_url)  # a database seeded before 0010 gets its summaries here
    print(f"schema upgrade took {time.perf_counter() - started:.1f} s")
    if read_index_state(args.db_url) is None:
        write_index(args.db_url, get_settings().kb_dir)
    engine = create_engine(args.db_url, future=True)
    with engine.connect() as connection:
        have = connection.execute(select(func.count()).select_from(InsightConversation)).scalar_one()
    engine.dispose()
    if args.reseed or have < args.conversations:
        reseed(args.db_url, args.conversations)
    for days in (30, 90):
        print(f"\npage latency over HTTP, {days}-day filter, {args.requests} requests each (ms);")
        print("then drawing the page's charts with none kept (ms, median of 5)")
        costs = chart_costs(args.db_url, days)
        print(f"{'page':<12} {'p50':>8} {'p95':>8} {'charts':>8}")
        for slug, p50, p95 in measure(args.db_url, args.requests, days):
            print(f"{slug:<12} {p50:>8.1f} {p95:>8.1f} {costs[slug]:>8.1f}")


if __name__ == "__main__":
    main()
