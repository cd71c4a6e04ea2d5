"""The application database: Slack event receipts (the first receipt of an event wins)."""

from __future__ import annotations

import threading

import pytest

from bot.db import dispose_engines, record_slack_event_once, upgrade_schema


def test_the_first_receipt_of_an_event_wins(sqlite_url: str) -> None:
    assert record_slack_event_once(sqlite_url, "Ev1") is True
    assert record_slack_event_once(sqlite_url, "Ev1") is False
    assert record_slack_event_once(sqlite_url, "Ev2") is True


def test_receipts_survive_a_restart(sqlite_url: str) -> None:
    assert record_slack_event_once(sqlite_url, "Ev1") is True
    dispose_engines()  # what a new server process starts with: no connections, no memory
    assert record_slack_event_once(sqlite_url, "Ev1") is False


def _race(url: str, event_id: str, racers: int = 8) -> list[bool]:
    """`racers` threads recording the same event at once, as Slack retries on replicas would."""
    start = threading.Barrier(racers)
    results: list[bool] = []

    def racer() -> None:
        start.wait()
        results.append(record_slack_event_once(url, event_id))

    threads = [threading.Thread(target=racer) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_exactly_one_of_concurrent_receipts_wins_on_sqlite(sqlite_url: str) -> None:
    assert sorted(_race(sqlite_url, "Ev-race")) == [False] * 7 + [True]


@pytest.mark.postgres
def test_exactly_one_of_concurrent_receipts_wins_on_postgresql(postgres_url: str) -> None:
    upgrade_schema(postgres_url)
    assert sorted(_race(postgres_url, "Ev-race")) == [False] * 7 + [True]
    assert record_slack_event_once(postgres_url, "Ev-other") is True
