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


def test_sqlite_files_holding_leads_are_readable_by_their_owner_only(tmp_path) -> None:
    import os
    import stat

    from bot.db import dispose_engines, upgrade_schema

    old_umask = os.umask(0o022)  # the usual umask, which made them 0644
    try:
        url = f"sqlite:///{tmp_path / 'new' / 'lantern.db'}"
        upgrade_schema(url)
        existing = tmp_path / "old.db"
        existing.write_bytes(b"")
        existing.chmod(0o644)
        upgrade_schema(f"sqlite:///{existing}")
    finally:
        os.umask(old_umask)
        dispose_engines()
    for path in [tmp_path / "new" / "lantern.db", existing, *tmp_path.glob("**/*.db-wal")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
