"""Delivering the notification outbox: at least once per target, deduplicated by the receiver.

A worker claims due rows with a lease, sends them, and marks them delivered or schedules
a retry with exponential backoff. A worker killed mid-delivery leaves a lease that simply
expires, so another run sends the same notification again with the same idempotency key.
Several workers may run at once: on PostgreSQL claims skip rows another worker holds.

A notification is not retried forever: after `LANTERN_OUTBOX_MAX_ATTEMPTS` attempts, or once
its lead is older than `LANTERN_OUTBOX_MAX_AGE_SECONDS`, a failing one is marked `failed`
(with the time and the last error), `lantern leads` shows it, and the worker raises it: an
error log line and, when a Slack webhook is configured, a message to the sales channel.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Optional

from sqlalchemy import and_, or_, select, update

from bot.db import session_scope
from bot.handoff.leads import SLACK, WEBHOOK
from bot.handoff.notifiers import DeliveryError, Notifier, SignedWebhookNotifier, SlackWebhookNotifier
from bot.models import Lead, OutboxNotification
from bot.settings import Settings

logger = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 900.0


@dataclass(frozen=True)
class Claimed:
    id: int
    target: str
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    lead_id: int = 0
    lead_created_at: Optional[datetime] = None


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0  # attempts that failed this round (to be retried or given up)
    given_up: int = 0  # of those, notifications now marked failed for good


@dataclass(frozen=True)
class GiveUp:
    """When a failing notification stops being retried, and the longest wait between tries."""

    max_attempts: int = 20
    max_age: timedelta = timedelta(days=1)
    retry_cap_seconds: float = MAX_RETRY_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> "GiveUp":
        return cls(settings.outbox_max_attempts, timedelta(seconds=settings.outbox_max_age_seconds),
                   float(settings.outbox_retry_cap_seconds))

    def reached(self, attempts: int, lead_created_at: Optional[datetime], now: datetime) -> bool:
        if attempts >= self.max_attempts:
            return True
        if lead_created_at is None:
            return False
        if lead_created_at.tzinfo is None:  # SQLite returns naive UTC
            lead_created_at = lead_created_at.replace(tzinfo=timezone.utc)
        return now - lead_created_at >= self.max_age


def failure_alert(claimed: Claimed, error: str, attempts: int) -> str:
    return (f"Lead #{claimed.lead_id}: the {claimed.target} notification failed for good after "
            f"{attempts} attempt(s) and will not be retried ({error[:200]}). "
            f"See `lantern leads show {claimed.lead_id}`.")


def retry_delay(attempts: int, cap_seconds: float = MAX_RETRY_SECONDS) -> timedelta:
    """2 s, 4 s, 8 s ... capped (at 15 minutes unless configured)."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), cap_seconds))


def notifiers_from_settings(settings: Settings) -> dict[str, Notifier]:
    notifiers: dict[str, Notifier] = {}
    if settings.slack_webhook_url:
        notifiers[SLACK] = SlackWebhookNotifier(settings.slack_webhook_url, settings.notify_timeout_seconds)
    if settings.crm_webhook_url:
        notifiers[WEBHOOK] = SignedWebhookNotifier(
            settings.crm_webhook_url, settings.crm_webhook_secret, settings.notify_timeout_seconds
        )
    return notifiers


def claim_due(db_url: str, now: datetime, limit: int = 20) -> list[Claimed]:
    """Lease up to `limit` due notifications to this worker."""
    due = and_(
        OutboxNotification.status == "pending",
        OutboxNotification.next_attempt_at <= now,
        or_(OutboxNotification.locked_until.is_(None), OutboxNotification.locked_until < now),
    )
    with session_scope(db_url) as session:
        rows = session.execute(
            select(OutboxNotification, Lead.created_at)
            .join(Lead, Lead.id == OutboxNotification.lead_id)
            .where(due).order_by(OutboxNotification.id).limit(limit)
            .with_for_update(skip_locked=True, of=OutboxNotification)
        ).all()
        for row, _ in rows:
            row.locked_until = now + LEASE
        return [
            Claimed(r.id, r.target, r.idempotency_key, dict(r.payload), r.attempts, r.lead_id, created)
            for r, created in rows
        ]


def _finish(
    db_url: str, claimed: Claimed, now: datetime, error: Optional[str], give_up: bool = False,
    retry_cap_seconds: float = MAX_RETRY_SECONDS,
) -> None:
    values: dict[str, Any] = {"attempts": claimed.attempts + 1, "locked_until": None}
    if error is None:
        values.update(status="delivered", delivered_at=now, last_error=None)
    elif give_up:
        values.update(status="failed", failed_at=now, last_error=error[:1000])
    else:
        values.update(next_attempt_at=now + retry_delay(claimed.attempts + 1, retry_cap_seconds), last_error=error[:1000])
    with session_scope(db_url) as session:
        session.execute(update(OutboxNotification).where(OutboxNotification.id == claimed.id).values(**values))


def raise_failure(claimed: Claimed, error: str, attempts: int, alert: Optional[Notifier]) -> None:
    """Say loudly that a notification was given up: a log line, and Slack when configured."""
    text = failure_alert(claimed, error, attempts)
    logger.error("outbox: %s", text)
    if alert is None:
        return
    try:
        alert.send({"text": text}, f"failed-{claimed.idempotency_key}", int(datetime.now(timezone.utc).timestamp()))
    except DeliveryError as failure:
        logger.error("outbox: could not post the failure of notification %s to Slack: %s", claimed.id, failure)


def deliver_due(
    db_url: str,
    notifiers: Mapping[str, Notifier],
    now: Optional[datetime] = None,
    limit: int = 20,
    give_up: GiveUp = GiveUp(),
    alert: Optional[Notifier] = None,
) -> DeliveryReport:
    """Send every due notification once; returns how many were delivered and how many failed.

    A failure that reaches `give_up` marks the notification failed and is raised through
    `alert` (a Slack notifier, or None for the log line only).
    """
    delivered = failed = given_up = 0
    for claimed in claim_due(db_url, now or datetime.now(timezone.utc), limit):
        notifier = notifiers.get(claimed.target)
        sent_at = datetime.now(timezone.utc)
        if notifier is None:
            error: Optional[str] = f"no notifier configured for {claimed.target!r}"
        else:
            try:
                notifier.send(claimed.payload, claimed.idempotency_key, int(sent_at.timestamp()))
                error = None
            except DeliveryError as failure:
                error = str(failure)
        finished_at = datetime.now(timezone.utc)
        final = error is not None and give_up.reached(claimed.attempts + 1, claimed.lead_created_at, now or finished_at)
        _finish(db_url, claimed, finished_at, error, give_up=final, retry_cap_seconds=give_up.retry_cap_seconds)
        if error is None:
            delivered += 1
            continue
        failed += 1
        logger.warning("notification %s to %s failed: %s", claimed.id, claimed.target, error)
        if final:
            given_up += 1
            raise_failure(claimed, error, claimed.attempts + 1, alert)
    return DeliveryReport(delivered, failed, given_up)


RETENTION_EVERY = timedelta(hours=1)


def run_worker(settings: Settings, poll_seconds: float = 1.0, stop: Optional[threading.Event] = None) -> None:
    """Deliver due notifications until `stop` is set (or forever); apply retention hourly."""
    from bot.privacy.retention import run_retention

    notifiers = notifiers_from_settings(settings)
    give_up, alert = GiveUp.from_settings(settings), notifiers.get(SLACK)
    stop = stop or threading.Event()
    logger.info("delivery worker started for %s", ", ".join(notifiers) or "no configured targets")
    next_retention = datetime.now(timezone.utc)
    while not stop.is_set():
        if datetime.now(timezone.utc) >= next_retention:
            try:
                run_retention(settings)
            except Exception:  # retention waits for the next hour; delivery goes on
                logger.exception("retention round failed")
            next_retention = datetime.now(timezone.utc) + RETENTION_EVERY
        try:
            report = deliver_due(settings.db_url, notifiers, give_up=give_up, alert=alert)
        except Exception:  # the worker must outlive a database hiccup
            logger.exception("delivery round failed; retrying")
            report = DeliveryReport()
        if not report.delivered:
            stop.wait(poll_seconds)
