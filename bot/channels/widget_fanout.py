"""The widget's pushes across Rasa servers: Redis publish/subscribe of "this conversation changed".

Each Rasa server holds the WebSockets of the tabs connected to it. When one server saves a
conversation (a visitor's turn, a rep's reply through the HTTP API), its own tabs are brought
up to date at once by the tracker-save hook; the server also publishes the conversation id
on one Redis channel, and every other server, subscribed to that channel, brings its own tabs
of that conversation up to date from the shared tracker store. The message carries only the
id: what a tab is sent is always read back from the tracker store, so a lost or repeated
notification can delay a push until the next one but never duplicate or reorder messages.

The same Redis keeps the ids of widget messages being processed, so that a tab resending a
message to another server after a drop waits for the first server instead of having the
message handled twice.

Without `LANTERN_REDIS_URL` (one server) both are local: nothing to publish, a set in memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, Awaitable, Callable, Optional

logger = logging.getLogger(__name__)

CHANNEL = "lantern:widget:saved"
IN_FLIGHT_PREFIX = "lantern:widget:inflight:"
# A claim lives a few seconds and its server renews it while the turn runs, so a server
# killed mid-turn frees its messages quickly for the tab's resend to another server.
IN_FLIGHT_SECONDS = 6
RENEW_SECONDS = 2.0
WAIT_SECONDS = 90.0  # longest a resend waits for a live server's turn (Rasa's lock: 60 s)
RECONNECT_SECONDS = 1.0

Listener = Callable[[str], Awaitable[None]]


class LocalFanout:
    """One server: pushes are local, in-flight ids a set in this process."""

    def __init__(self) -> None:
        self.in_flight: set[str] = set()

    async def start(self, listener: Listener) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, conversation_id: str) -> None:
        return None

    async def claim(self, key: str) -> bool:
        if key in self.in_flight:
            return False
        self.in_flight.add(key)
        return True

    async def is_claimed(self, key: str) -> bool:
        return key in self.in_flight

    async def release(self, key: str) -> None:
        self.in_flight.discard(key)


class RedisFanout(LocalFanout):
    """Several servers: publish saves, listen for the others', in-flight ids in Redis."""

    def __init__(self, redis_url: str) -> None:
        super().__init__()
        import redis.asyncio as aioredis

        self.redis: Any = aioredis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self.origin = uuid.uuid4().hex  # this server: its own notifications are skipped
        self.task: Optional[asyncio.Task[None]] = None
        self.subscribed = asyncio.Event()
        self.renewals: dict[str, asyncio.Task[None]] = {}

    async def start(self, listener: Listener) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._listen(listener))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None
        for renewal in self.renewals.values():
            renewal.cancel()
        self.renewals.clear()
        await self.redis.close()

    async def publish(self, conversation_id: str) -> None:
        try:
            await self.redis.publish(CHANNEL, json.dumps({"c": conversation_id, "o": self.origin}))
        except Exception as error:  # the turn is saved; other servers' tabs catch up on their next push
            logger.warning("widget fan-out: could not publish %s: %s", conversation_id, error)

    async def _listen(self, listener: Listener) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                self.subscribed.set()
                logger.info("widget fan-out: subscribed to %s", CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    await self._deliver(message["data"], listener)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis restarted: subscribe again
                self.subscribed.clear()
                logger.warning("widget fan-out: Redis subscription lost (%s); retrying", error)
                await asyncio.sleep(RECONNECT_SECONDS)
            finally:
                try:
                    await pubsub.close()
                except Exception:
                    pass

    async def _deliver(self, data: Any, listener: Listener) -> None:
        try:
            note = json.loads(data)
            conversation_id, origin = str(note["c"]), note.get("o")
        except (ValueError, KeyError, TypeError):
            logger.warning("widget fan-out: ignored a malformed notification")
            return
        if origin == self.origin:
            return
        try:
            await listener(conversation_id)
        except Exception:
            logger.exception("widget fan-out: push failed for %s", conversation_id)

    async def claim(self, key: str) -> bool:
        try:
            claimed = bool(await self.redis.set(IN_FLIGHT_PREFIX + key, self.origin, nx=True, ex=IN_FLIGHT_SECONDS))
        except Exception as error:  # without Redis, fall back to this server's own view
            logger.warning("widget fan-out: in-flight claim without Redis: %s", error)
            return await super().claim(key)
        if claimed:
            self.in_flight.add(key)
            self.renewals[key] = asyncio.create_task(self._renew(key))
        return claimed

    async def _renew(self, key: str) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await self.redis.expire(IN_FLIGHT_PREFIX + key, IN_FLIGHT_SECONDS)
            except Exception as error:
                logger.warning("widget fan-out: could not renew %s: %s", key, error)

    async def is_claimed(self, key: str) -> bool:
        try:
            return bool(await self.redis.exists(IN_FLIGHT_PREFIX + key))
        except Exception:
            return await super().is_claimed(key)

    async def release(self, key: str) -> None:
        await super().release(key)
        renewal = self.renewals.pop(key, None)
        if renewal is not None:
            renewal.cancel()
        try:
            await self.redis.delete(IN_FLIGHT_PREFIX + key)
        except Exception as error:
            logger.warning("widget fan-out: could not release %s: %s", key, error)


def fanout_for(redis_url: Optional[str]) -> LocalFanout:
    return RedisFanout(redis_url) if redis_url else LocalFanout()
