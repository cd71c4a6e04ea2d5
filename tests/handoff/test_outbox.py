import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.db import session_scope
from bot.evaluation.stack import free_port
from bot.handoff.brief import ArticleRead, Contact, LeadBrief
from bot.handoff.leads import Announcement, create_lead
from bot.handoff.notifiers import SignedWebhookNotifier
from bot.handoff.outbox import GiveUp, deliver_due, notifiers_from_settings, retry_delay
from bot.models import Lead, OutboxNotification
from bot.settings import load_settings
from tests.conftest import PROJECT_HOME
from tests.handoff.receiver import running_receiver

CONTACT = Contact("Dana Reyes", "dana@harbourfoods.example", "Harbour Foods", "call")
BRIEF = LeadBrief(
    problem="our newsletter goes to spam",
    symptoms="open rates halved since march",
    why_it_matters_to_them="we lose repeat orders",
    already_tried=None,
    articles_read=[ArticleRead("emails-going-to-spam", "Our emails land in spam", "https://x.example/a", True)],
    intent_evidence="can i get a quote for fixing this",
)


def settings_for(db_url: str, webhook_url: str, secret: str = "s3cret", slack_url: str = ""):
    return load_settings(
        environ={"LANTERN_DB_URL": db_url, "LANTERN_CRM_WEBHOOK_URL": webhook_url,
                 "LANTERN_CRM_WEBHOOK_SECRET": secret, "LANTERN_SLACK_WEBHOOK_URL": slack_url},
        home=PROJECT_HOME,
    )


def outbox_rows(db_url: str) -> list[OutboxNotification]:
    with session_scope(db_url) as session:
        return list(session.execute(select(OutboxNotification).order_by(OutboxNotification.id)).scalars())


def test_lead_and_notifications_commit_together(sqlite_url: str) -> None:
    settings = settings_for(sqlite_url, "http://127.0.0.1:9/hook", slack_url="http://127.0.0.1:9/slack")
    lead_id = create_lead(settings.db_url, Announcement.from_settings(settings), "conv-1", "rest", CONTACT, BRIEF, "clear")
    rows = outbox_rows(sqlite_url)
    assert {r.target for r in rows} == {"slack", "webhook"}
    assert all(r.lead_id == lead_id and r.status == "pending" for r in rows)
    slack = next(r for r in rows if r.target == "slack").payload
    assert "can i get a quote for fixing this" in str(slack["blocks"])
    # The rep's link is its own signed access (docs/security.md), not the visitor's id.
    assert "/webhooks/widget/transcript/" in str(slack["blocks"]) and "conv-1" not in str(slack["blocks"])


def test_nothing_is_written_when_the_transaction_fails(sqlite_url: str) -> None:
    settings = settings_for(sqlite_url, "http://127.0.0.1:9/hook")
    broken = Contact(None, "x@y.example", None, "email")  # name is required by the schema
    with pytest.raises(IntegrityError):
        create_lead(settings.db_url, Announcement.from_settings(settings), "conv-2", "rest", broken, BRIEF, "clear")
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0
    assert outbox_rows(sqlite_url) == []


def test_a_signed_notification_is_delivered_once(sqlite_url: str) -> None:
    with running_receiver(secret="s3cret") as receiver:
        settings = settings_for(sqlite_url, receiver.url)
        create_lead(settings.db_url, Announcement.from_settings(settings), "conv-3", "rest", CONTACT, BRIEF, "clear")
        report = deliver_due(sqlite_url, notifiers_from_settings(settings))
        assert (report.delivered, report.failed) == (1, 0)
        assert receiver.bad_signatures == 0 and receiver.unique_deliveries == 1
        (payload,) = receiver.accepted.values()
        assert payload["contact"]["email"] == "dana@harbourfoods.example"
        assert payload["brief"]["why_it_matters_to_them"] == "we lose repeat orders"
        assert payload["intent"] == {"level": "clear", "evidence": "can i get a quote for fixing this"}
        assert deliver_due(sqlite_url, notifiers_from_settings(settings)).delivered == 0
    (row,) = outbox_rows(sqlite_url)
    assert row.status == "delivered" and row.attempts == 1


def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(sqlite_url: str) -> None:
    with running_receiver(secret="the-real-one") as receiver:
        settings = settings_for(sqlite_url, receiver.url, secret="wrong")
        create_lead(settings.db_url, Announcement.from_settings(settings), "conv-4", "rest", CONTACT, BRIEF, "clear")
        assert deliver_due(sqlite_url, notifiers_from_settings(settings)).failed == 1
        assert receiver.bad_signatures == 1 and receiver.unique_deliveries == 0


def test_an_outage_is_retried_with_backoff_until_the_receiver_recovers(sqlite_url: str) -> None:
    port = free_port()
    settings = settings_for(sqlite_url, f"http://127.0.0.1:{port}/hook")
    create_lead(settings.db_url, Announcement.from_settings(settings), "conv-5", "rest", CONTACT, BRIEF, "clear")
    notifiers = notifiers_from_settings(settings)
    start = datetime.now(timezone.utc)
    # Down: nothing listens on the port.
    assert deliver_due(sqlite_url, notifiers, now=start).failed == 1
    (row,) = outbox_rows(sqlite_url)
    assert row.status == "pending" and row.attempts == 1 and "ConnectionError" in row.last_error
    assert deliver_due(sqlite_url, notifiers, now=start).failed == 0  # not due again yet
    with running_receiver(port=port, secret="s3cret") as receiver:
        receiver.mode = "fail"  # up but erroring
        later = start + timedelta(minutes=1)
        assert deliver_due(sqlite_url, notifiers, now=later).failed == 1
        receiver.mode = "ok"  # recovered, minutes later
        assert deliver_due(sqlite_url, notifiers, now=later + timedelta(minutes=5)).delivered == 1
        assert receiver.unique_deliveries == 1
    (row,) = outbox_rows(sqlite_url)
    assert row.status == "delivered" and row.attempts == 3


def test_a_hanging_receiver_times_out_and_is_retried(sqlite_url: str) -> None:
    with running_receiver(secret="s3cret") as receiver:
        receiver.mode, receiver.hang_seconds = "hang", 3.0
        settings = settings_for(sqlite_url, receiver.url)
        create_lead(settings.db_url, Announcement.from_settings(settings), "conv-6", "rest", CONTACT, BRIEF, "clear")
        quick = {"webhook": SignedWebhookNotifier(receiver.url, "s3cret", timeout=0.5)}
        assert deliver_due(sqlite_url, quick).failed == 1
        assert "Timeout" in outbox_rows(sqlite_url)[0].last_error
        receiver.mode = "ok"
        assert deliver_due(sqlite_url, quick, now=datetime.now(timezone.utc) + timedelta(minutes=1)).delivered == 1


def test_a_notification_failing_too_often_is_marked_failed_shown_and_raised(  # type: ignore[no-untyped-def]
    sqlite_url: str, capsys, caplog, monkeypatch
) -> None:
    from bot.cli import main
    from bot.settings import get_settings

    port = free_port()
    with running_receiver(secret="s3cret") as slack:
        settings = settings_for(sqlite_url, f"http://127.0.0.1:{port}/hook")  # the CRM is down
        lead_id = create_lead(settings.db_url, Announcement.from_settings(settings), "conv-8", "rest", CONTACT, BRIEF, "clear")
        notifiers = notifiers_from_settings(settings)
        alert = SignedWebhookNotifier(slack.url, "s3cret")
        give_up = GiveUp(max_attempts=3)
        now = datetime.now(timezone.utc)
        reports = [deliver_due(sqlite_url, notifiers, now=now + timedelta(hours=n), give_up=give_up, alert=alert)
                   for n in range(5)]
        assert [(r.failed, r.given_up) for r in reports] == [(1, 0), (1, 0), (1, 1), (0, 0), (0, 0)]
        (row,) = outbox_rows(sqlite_url)
        assert row.status == "failed" and row.attempts == 3 and row.failed_at is not None
        (posted,) = slack.accepted.values()
        assert f"Lead #{lead_id}" in posted["text"] and "failed for good after 3 attempt(s)" in posted["text"]
    assert any(r.levelname == "ERROR" and f"Lead #{lead_id}" in r.getMessage() for r in caplog.records)
    monkeypatch.setenv("LANTERN_DB_URL", sqlite_url)
    get_settings.cache_clear()
    try:
        assert main(["leads", "list"]) == 0
        listed = capsys.readouterr().out
        assert main(["leads", "show", str(lead_id)]) == 0
        shown = capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert "1 notification(s) FAILED for good" in listed and "webhook: FAILED" in listed
    assert "webhook: failed, 3 attempt(s), given up" in shown


def test_a_notification_older_than_the_age_limit_fails_at_its_next_failure(sqlite_url: str) -> None:
    settings = settings_for(sqlite_url, f"http://127.0.0.1:{free_port()}/hook")
    create_lead(settings.db_url, Announcement.from_settings(settings), "conv-9", "rest", CONTACT, BRIEF, "clear")
    give_up = GiveUp(max_attempts=100, max_age=timedelta(hours=2))
    notifiers = notifiers_from_settings(settings)
    now = datetime.now(timezone.utc)
    assert deliver_due(sqlite_url, notifiers, now=now, give_up=give_up).given_up == 0
    (row,) = outbox_rows(sqlite_url)
    assert row.status == "pending"
    # Only 2 attempts, but the lead is now 3 hours old: the failure is the last.
    assert deliver_due(sqlite_url, notifiers, now=now + timedelta(hours=3), give_up=give_up).given_up == 1
    (row,) = outbox_rows(sqlite_url)
    assert row.status == "failed" and row.attempts == 2
    assert GiveUp(100, timedelta(hours=2)).reached(2, now - timedelta(hours=3), now)
    assert not GiveUp(100, timedelta(hours=2)).reached(2, now - timedelta(hours=1), now)


def test_give_up_limits_come_from_the_settings() -> None:
    settings = load_settings(environ={"LANTERN_OUTBOX_MAX_ATTEMPTS": "5", "LANTERN_OUTBOX_MAX_AGE_SECONDS": "60",
                                      "LANTERN_OUTBOX_RETRY_CAP_SECONDS": "30"}, home=PROJECT_HOME)
    assert GiveUp.from_settings(settings) == GiveUp(5, timedelta(seconds=60), 30.0)


def test_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert retry_delay(50).total_seconds() == 900
    assert retry_delay(50, cap_seconds=30).total_seconds() == 30


WORKER = """
import sys
from bot.handoff.outbox import deliver_due
from bot.handoff.notifiers import SignedWebhookNotifier
deliver_due(sys.argv[1], {"webhook": SignedWebhookNotifier(sys.argv[2], "s3cret", timeout=30)})
"""


def test_a_worker_killed_mid_delivery_delivers_exactly_once_for_the_receiver(sqlite_url: str) -> None:
    with running_receiver(secret="s3cret") as receiver:
        settings = settings_for(sqlite_url, receiver.url)
        create_lead(settings.db_url, Announcement.from_settings(settings), "conv-7", "rest", CONTACT, BRIEF, "clear")
        receiver.mode, receiver.hang_seconds = "hang", 5.0
        worker = subprocess.Popen([sys.executable, "-c", WORKER, sqlite_url, receiver.url], cwd=PROJECT_HOME)
        deadline = time.monotonic() + 30
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.requests, "the worker never reached the receiver"
        os.kill(worker.pid, signal.SIGKILL)  # dies holding the lease, before recording anything
        worker.wait()
        receiver.mode = "ok"
        notifiers = notifiers_from_settings(settings)
        assert deliver_due(sqlite_url, notifiers).delivered == 0  # lease still held
        after_lease = datetime.now(timezone.utc) + timedelta(seconds=61)
        assert deliver_due(sqlite_url, notifiers, now=after_lease).delivered == 1
        assert deliver_due(sqlite_url, notifiers, now=after_lease + timedelta(minutes=5)).delivered == 0
        keys = [r["key"] for r in receiver.requests]
        assert len(keys) == 2 and len(set(keys)) == 1  # sent twice, same key
        assert receiver.unique_deliveries == 1
