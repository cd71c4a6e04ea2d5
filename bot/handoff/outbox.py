"""Delivering the notification outbox: at least once per target, deduplicated by the receiver.

A worker claims due rows with a lease, sends them, and marks them delivered or schedules
a retry with exponential backoff. A worker killed mid-delivery leaves a lease that simply
expires, so another run sends the same notification again with the same idempotency key.
Several workers may run at once: on PostgreSQL claims skip rows another worker holds.
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
from bot.models import OutboxNotification
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


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s ... capped at 15 minutes."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


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
            select(OutboxNotification).where(due).order_by(OutboxNotification.id).limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars().all()
        for row in rows:
            row.locked_until = now + LEASE
        return [Claimed(r.id, r.target, r.idempotency_key, dict(r.payload), r.attempts) for r in rows]


def _finish(db_url: str, claimed: Claimed, now: datetime, error: Optional[str]) -> None:
    values: dict[str, Any] = {"attempts": claimed.attempts + 1, "locked_until": None}
    if error is None:
        values.update(status="delivered", delivered_at=now, last_error=None)
    else:
        values.update(next_attempt_at=now + retry_delay(claimed.attempts + 1), last_error=error[:1000])
    with session_scope(db_url) as session:
        session.execute(update(OutboxNotification).where(OutboxNotification.id == claimed.id).values(**values))


def deliver_due(
    db_url: str, notifiers: Mapping[str, Notifier], now: Optional[datetime] = None, limit: int = 20
) -> DeliveryReport:
    """Send every due notification once; returns how many were delivered and how many failed."""
    delivered = failed = 0
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
        _finish(db_url, claimed, datetime.now(timezone.utc), error)
        if error is None:
            delivered += 1
        else:
            failed += 1
            logger.warning("notification %s to %s failed: %s", claimed.id, claimed.target, error)
    return DeliveryReport(delivered, failed)


RETENTION_EVERY = timedelta(hours=1)


def run_worker(settings: Settings, poll_seconds: float = 1.0, stop: Optional[threading.Event] = None) -> None:
    """Deliver due notifications until `stop` is set (or forever); apply retention hourly."""
    from bot.privacy.retention import run_retention

    notifiers = notifiers_from_settings(settings)
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
            report = deliver_due(settings.db_url, notifiers)
        except Exception:  # the worker must outlive a database hiccup
            logger.exception("delivery round failed; retrying")
            report = DeliveryReport()
        if not report.delivered:
            stop.wait(poll_seconds)
