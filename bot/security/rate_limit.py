"""Request limits: how often one client, or one conversation, may send.

Fixed windows counted in the process: a client over its limit is told when to come back
(`retry_after`, seconds). With several Rasa replicas each counts its own share, so the
effective limit is at most replicas x limit; sticky sessions keep one conversation on one
replica (docs/security.md). Old windows are dropped as they pass, so memory stays bounded
by the number of clients active in one window.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass
class RateLimiter:
    """At most `limit` events per `window` seconds for each key."""

    limit: int
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 100_000
    _counts: dict[str, tuple[float, int]] = field(default_factory=dict)  # key -> (window start, count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str) -> Optional[int]:
        """Count one event for `key`; None if allowed, else the seconds to wait.

        A key's window opens at its first event and lasts `window` seconds."""
        now = self.clock()
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                return max(1, math.ceil(start + self.window - now))
            if key not in self._counts and len(self._counts) >= self.max_keys:
                self._forget_old(now)
            self._counts[key] = (start, count + 1)
        return None

    def _forget_old(self, now: float) -> None:
        for key in [k for k, (start, _) in self._counts.items() if now - start >= self.window]:
            del self._counts[key]
        if len(self._counts) >= self.max_keys:  # all still open: drop the oldest tenth
            for key in list(self._counts)[: self.max_keys // 10]:
                del self._counts[key]


@dataclass
class Limits:
    """The limits a channel applies: per client address, per conversation (a minute and a day)."""

    per_client: RateLimiter
    per_conversation: RateLimiter
    per_conversation_day: RateLimiter

    @classmethod
    def of(cls, per_client: int, per_conversation: int, per_conversation_day: int, window: float = 60.0) -> "Limits":
        return cls(
            RateLimiter(per_client, window), RateLimiter(per_conversation, window),
            RateLimiter(per_conversation_day, 86400.0),
        )

    def client(self, address: str) -> Optional[int]:
        return self.per_client.hit(address)

    def conversation(self, conversation_id: str) -> Optional[int]:
        return self.per_conversation.hit(conversation_id) or self.per_conversation_day.hit(conversation_id)


@dataclass
class ConnectionCap:
    """At most `limit` open connections from one client address at once."""

    limit: int
    _open: dict[str, int] = field(default_factory=dict)

    def at_limit(self, address: str) -> bool:
        return self._open.get(address, 0) >= self.limit

    def open(self, address: str) -> bool:
        if self._open.get(address, 0) >= self.limit:
            return False
        self._open[address] = self._open.get(address, 0) + 1
        return True

    def close(self, address: str) -> None:
        left = self._open.get(address, 0) - 1
        if left > 0:
            self._open[address] = left
        else:
            self._open.pop(address, None)


def limits_from(settings: object) -> Limits:
    """The limits configured in `settings` (bot/settings.py)."""
    return Limits.of(
        getattr(settings, "rate_per_client"),
        getattr(settings, "rate_per_conversation"),
        getattr(settings, "max_turns_per_session"),
        float(getattr(settings, "rate_window_seconds")),
    )


def client_address(request: object) -> str:
    """The client's address: Sanic's `remote_addr` (the forwarded address when the server is
    told to trust its proxy, e.g. SANIC_PROXIES_COUNT=1 behind nginx), else the peer's."""
    return str(getattr(request, "remote_addr", "") or getattr(request, "ip", "") or "unknown")
