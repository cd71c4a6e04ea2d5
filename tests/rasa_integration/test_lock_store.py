"""The ticket lock shared by several Rasa servers, on the machine's Redis."""

import asyncio
import threading
import uuid

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

from bot.rasa_integration.lock_store import LanternLockStore, RedisTicketLockStore, lock_store_for


def test_without_redis_the_lock_is_rasas_in_memory_one() -> None:
    assert isinstance(lock_store_for(None), InMemoryLockStore)


def test_the_endpoint_class_follows_the_settings(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import get_settings

    monkeypatch.setenv("LANTERN_REDIS_URL", redis_url)
    get_settings.cache_clear()
    try:
        assert isinstance(LanternLockStore(endpoint_config=None), RedisTicketLockStore)
    finally:
        get_settings.cache_clear()


def issue_concurrently(store_factory, conversation: str, threads: int = 8, each: int = 25) -> list[int]:  # type: ignore[no-untyped-def]
    """Tickets issued by `threads` stores at once (as by that many Rasa servers)."""
    tickets: list[int] = []
    start = threading.Barrier(threads)

    def issue() -> None:
        store = store_factory()
        start.wait()
        for _ in range(each):
            tickets.append(store.issue_ticket(conversation, 60))

    workers = [threading.Thread(target=issue) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return tickets


def test_servers_issuing_tickets_at_once_never_get_the_same_one(redis_url: str) -> None:
    conversation = f"c-{uuid.uuid4().hex}"
    tickets = issue_concurrently(lambda: RedisTicketLockStore(redis_url), conversation)
    assert sorted(tickets) == list(range(200))
    lock = RedisTicketLockStore(redis_url).get_lock(conversation)
    assert lock is not None and len(lock.tickets) == 200


def test_rasas_own_redis_lock_store_loses_tickets_under_the_same_load(redis_url: str) -> None:
    """Why Lantern has its own: the read-modify-write race the cluster would hit."""
    from urllib.parse import urlparse

    parsed = urlparse(redis_url)
    conversation = f"c-{uuid.uuid4().hex}"
    tickets = issue_concurrently(
        lambda: RedisLockStore(host=parsed.hostname, port=parsed.port, db=int(parsed.path.strip("/") or 0)),
        conversation,
    )
    assert len(set(tickets)) < len(tickets)  # two servers handed the same ticket


def test_a_conversation_is_served_in_ticket_order_and_the_lock_removed_after(redis_url: str) -> None:
    conversation = f"c-{uuid.uuid4().hex}"
    first, second = RedisTicketLockStore(redis_url), RedisTicketLockStore(redis_url)
    order: list[str] = []

    async def turn(store: RedisTicketLockStore, name: str, hold: float) -> None:
        async with store.lock(conversation, lock_lifetime=10, wait_time_in_seconds=0.02):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    async def both() -> None:
        a = asyncio.create_task(turn(first, "a", 0.3))
        await asyncio.sleep(0.05)
        await asyncio.gather(a, turn(second, "b", 0.0))

    asyncio.run(both())
    assert order == ["a in", "a out", "b in", "b out"]
    assert first.get_lock(conversation) is None
