"""Rasa's per-conversation ticket lock, shared through Redis when `LANTERN_REDIS_URL` is set.

Rasa 3.6's `RedisLockStore` changes a lock by reading it, changing the copy and writing it
back (`issue_ticket`, `finish_serving`, `update_lock`). Inside one process that is safe (the
calls are synchronous on one event loop), but two Rasa servers doing it at once for the same
conversation overwrite each other's tickets, and then both process a message of that
conversation at the same time. Here every such change is one optimistic Redis transaction
(WATCH the key, MULTI/EXEC, retry on conflict), so tickets are issued and retired in order
whichever server a message reaches. Without Redis it is Rasa's in-memory lock store.

Endpoint: `lock_store: type: bot.rasa_integration.lock_store.LanternLockStore` (endpoints.yml).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore

from bot.settings import get_settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "lantern:lock:"


def lock_store_for(redis_url: Optional[str]) -> LockStore:
    """The lock store for these settings: Redis-backed and atomic, or in memory."""
    return RedisTicketLockStore(redis_url) if redis_url else InMemoryLockStore()


class LanternLockStore:
    """What Rasa instantiates from endpoints.yml: the store `lock_store_for` picks."""

    def __new__(cls, endpoint_config: Any = None, **_: Any) -> LockStore:
        return lock_store_for(get_settings().redis_url)


class RedisTicketLockStore(LockStore):
    """Rasa's ticket locks in Redis, each read-modify-write in one transaction."""

    def __init__(self, redis_url: str, socket_timeout: float = 10.0) -> None:
        import redis

        self.red = redis.Redis.from_url(redis_url, socket_timeout=socket_timeout)
        super().__init__()

    def _key(self, conversation_id: Text) -> str:
        return KEY_PREFIX + conversation_id

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        raw = self.red.get(self._key(conversation_id))
        return TicketLock.from_dict(_loads(raw)) if raw else None

    def delete_lock(self, conversation_id: Text) -> None:
        self._log_deletion(conversation_id, bool(self.red.delete(self._key(conversation_id))))

    def save_lock(self, lock: TicketLock) -> None:
        self.red.set(self._key(lock.conversation_id), lock.dumps())

    def _change(self, conversation_id: Text, change: Callable[[Optional[TicketLock]], Any]) -> Any:
        """Run `change` on the stored lock and store what it leaves, atomically.

        `change` returns `(lock_or_None, result)`: None deletes the lock.
        """
        key = self._key(conversation_id)
        outcome: list[Any] = []

        def transaction(pipe: Any) -> None:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(_loads(raw)) if raw else None
            new_lock, result = change(lock)
            pipe.multi()
            if new_lock is None:
                pipe.delete(key)
            else:
                pipe.set(key, new_lock.dumps())
            outcome[:] = [result]

        self.red.transaction(transaction, key)
        return outcome[0]

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return int(self._change(conversation_id, issue))
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text) -> None:
        def expire(lock: Optional[TicketLock]) -> tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Retire the ticket, and the lock with it when nobody else waits: one transaction."""

        def retire(lock: Optional[TicketLock]) -> tuple[Optional[TicketLock], None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, retire)


def _loads(raw: Any) -> Any:
    import json

    return json.loads(raw)
