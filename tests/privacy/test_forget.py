"""`forget`, `export` and retention on real SQLite databases, with a CRM receiver and a fake
Slack Web API on loopback (the only things mocked: they are outside the machine)."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.db import dispose_engines, session_scope, upgrade_schema
from bot.handoff.brief import ArticleRead, Contact, LeadBrief
from bot.handoff.leads import Announcement, create_lead
from bot.handoff.outbox import deliver_due, notifiers_from_settings
from bot.insights import signals as kinds
from bot.insights.records import record_article_feedback, record_content_gap
from bot.insights.signals import Signal, record_signals
from bot.models import Lead, PrivacyAudit
from bot.privacy.forget import export, forget, record_slack_post
from bot.privacy.retention import ANONYMISED, run_retention
from bot.settings import Settings, load_settings
from tests.conftest import PROJECT_HOME
from tests.e2e.fake_slack import running_fake_slack
from tests.handoff.receiver import running_receiver

EMAIL, NAME, PHONE = "dana@harbourfoods.example", "Dana Reyes", "+44 20 7946 0958"
CONVERSATION = "w-" + "d" * 32
OTHER = "w-" + "e" * 32
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)

# Rasa's SQL tracker table, as SQLTrackerStore creates it.
EVENTS_TABLE = """CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, sender_id VARCHAR(255) NOT NULL,
  type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"""


def add_events(url: str, sender: str, texts: list[str], at: datetime) -> None:
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        if not inspect(connection).has_table("events"):
            connection.execute(text(EVENTS_TABLE))
        for i, said in enumerate(texts):
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, :d)"),
                {"s": sender, "t": at.timestamp() + i, "d": json.dumps({"event": "user", "text": said})},
            )
    engine.dispose()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict]:
    with running_receiver(secret="crm-secret") as crm, running_fake_slack() as slack:
        settings = load_settings(
            environ={
                "LANTERN_DB_URL": f"sqlite:///{tmp_path / 'lantern.db'}",
                "LANTERN_TRACKER_DB_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
                "LANTERN_CRM_WEBHOOK_URL": crm.url, "LANTERN_CRM_WEBHOOK_SECRET": "crm-secret",
                "LANTERN_SLACK_WEBHOOK_URL": slack.url + "incoming-webhook",
                "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s", "LANTERN_SLACK_API_URL": slack.url,
                "LANTERN_SECRET_KEY": "test-key",
            },
            home=PROJECT_HOME,
        )
        upgrade_schema(settings.db_url)
        yield {"settings": settings, "crm": crm, "slack": slack}
    dispose_engines()


def a_lead(settings: Settings, conversation: str = CONVERSATION) -> int:
    add_events(settings.tracker_db_url, conversation,
               ["our newsletter goes to spam", f"I'm {NAME}, {EMAIL}, call me on {PHONE}"], NOW)
    brief = LeadBrief("our newsletter goes to spam", None, None, None,
                      [ArticleRead("emails-going-to-spam", "Spam", "https://x.example/a", True)], "can i get a quote")
    lead_id = create_lead(settings.db_url, Announcement.from_settings(settings), conversation, "widget",
                          Contact(NAME, EMAIL, "Harbour Foods", "call"), brief, "clear", now=NOW)
    record_content_gap(settings.db_url, conversation, f"do you work with {NAME}'s company?")
    record_article_feedback(settings.db_url, conversation, "emails-going-to-spam", True, "great")
    record_signals(settings.db_url, conversation, "widget", [  # what the dashboard learns, in the visitor's words
        Signal(kinds.PROBLEM, topic="email-marketing", text=f"{NAME} here: our newsletter goes to spam"),
        Signal(kinds.SHOWN, topic="email-marketing", article_id="emails-going-to-spam", heading="Why"),
        Signal(kinds.ASKED_TO_BUY, text=f"can i get a quote? {EMAIL}"),
    ], now=NOW)
    record_slack_post(settings.db_url, "C-SALES", "1700000000.000100", conversation_id=conversation, lead_id=lead_id)
    deliver_due(settings.db_url, notifiers_from_settings(settings))
    return lead_id


def traces(settings: Settings) -> list[str]:
    """Every table of both databases in which the email, name or phone still appears."""
    found = []
    for url in (settings.db_url, settings.tracker_db_url):
        engine = create_engine(url, future=True)
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    dumped = json.dumps([str(v) for v in row])
                    found += [f"{table}: {needle}" for needle in (EMAIL, NAME, PHONE) if needle in dumped]
        engine.dispose()
    return found


def test_forget_by_email_leaves_no_trace_tells_the_crm_deletes_the_slack_post_and_is_safe_twice(world) -> None:
    settings, crm, slack = world["settings"], world["crm"], world["slack"]
    lead_id = a_lead(settings)
    add_events(settings.tracker_db_url, OTHER, ["someone else entirely"], NOW)
    assert traces(settings), "the set-up holds the person's data"

    removed = forget(settings, email=EMAIL.upper(), now=NOW)
    assert traces(settings) == []
    assert (removed.conversations, removed.leads, removed.outbox_rows) == (1, 1, 2)
    assert (removed.content_gaps, removed.feedback, removed.slack_messages) == (1, 1, 1)
    assert (removed.insight_signals, removed.insight_conversations) == (3, 1)
    assert removed.tracker_events == 2 and removed.crm_notice == "sent"
    [deleted] = [c["args"] for c in slack.calls if c["method"] == "chat.delete"]
    assert deleted == {"channel": "C-SALES", "ts": "1700000000.000100"}
    notices = [body for body in crm.accepted.values() if body.get("type") == "lantern.lead.deleted"]
    assert notices == [{"type": "lantern.lead.deleted", "lead_ids": [lead_id], "deleted_at": NOW.isoformat()}]
    assert crm.bad_signatures == 0
    assert "removed 1 leads" in removed.lines()

    again = forget(settings, email=EMAIL, now=NOW)
    assert not again.anything and again.lines()[0] == "nothing held: nothing to remove"
    with session_scope(settings.db_url) as session:
        audits = session.query(PrivacyAudit).all()
    assert [a.action for a in audits] == ["forget", "forget"]
    assert all(needle not in json.dumps(a.counts) for a in audits for needle in (EMAIL, NAME, CONVERSATION))
    engine = create_engine(settings.tracker_db_url, future=True)
    with engine.connect() as connection:
        left = connection.execute(text("SELECT DISTINCT sender_id FROM events")).scalars().all()
    engine.dispose()
    assert left == [OTHER]


def test_a_crm_notice_that_fails_is_owed_and_sent_by_the_next_run(world) -> None:
    settings, crm = world["settings"], world["crm"]
    lead_id = a_lead(settings)
    crm.mode = "fail"
    assert forget(settings, conversation_id=CONVERSATION, now=NOW).crm_notice == "owed"
    crm.mode = "ok"
    forget(settings, conversation_id=CONVERSATION, now=NOW)
    assert [b["lead_ids"] for b in crm.accepted.values() if b.get("type") == "lantern.lead.deleted"] == [[lead_id]]


def test_export_gives_everything_held_about_a_person(world) -> None:
    settings = world["settings"]
    a_lead(settings)
    held = export(settings, EMAIL, now=NOW)
    assert [lead["email"] for lead in held["leads"]] == [EMAIL]
    assert [e["text"] for e in held["conversations"][CONVERSATION]][0] == "our newsletter goes to spam"
    assert held["content_gaps"] and held["article_feedback"]
    assert [s["kind"] for s in held["insight_signals"]] == ["problem", "shown", "asked_to_buy"]
    assert held["insight_signals"][2]["text"] == "can i get a quote? [email]"  # stored redacted
    json.dumps(held)  # JSON as it stands


def test_retention_with_a_frozen_clock(world) -> None:
    settings = world["settings"]
    a_lead(settings)  # a lead made at NOW, conversation at NOW
    add_events(settings.tracker_db_url, OTHER, ["an old conversation without a lead"], NOW)

    assert run_retention(settings, now=NOW + timedelta(days=settings.retention_days - 1)).conversations_deleted == 0
    report = run_retention(settings, now=NOW + timedelta(days=settings.retention_days + 1))
    assert (report.conversations_deleted, report.leads_anonymised) == (1, 0)
    report = run_retention(settings, now=NOW + timedelta(days=settings.lead_retention_days + 1))
    assert report.leads_anonymised == 1
    with session_scope(settings.db_url) as session:
        [lead] = session.query(Lead).all()
    assert (lead.name, lead.email, lead.brief) == (ANONYMISED, "", {})
    assert traces(settings) == []
    assert settings.retention_days == 30 and settings.lead_retention_days == 365  # the documented defaults
