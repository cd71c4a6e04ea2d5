"""A fake Slack Web API on loopback that records every call, for the Slack channel's tests."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, Optional
from urllib.parse import parse_qsl

from tests.loopback import send_json, serving


@dataclass
class FakeSlack:
    url: str  # the Web API base URL, ending in "/"
    calls: list[dict[str, Any]] = field(default_factory=list)  # {"method", "token", "args", "at", "answer"}
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: dict[str, str] = field(default_factory=dict)  # user id -> display name, for users.info

    def of(self, method: str, channel: Optional[str] = None) -> list[dict[str, Any]]:
        """Arguments of every call of `method` (to `channel`), oldest first."""
        with self.lock:
            return [c["args"] for c in self.calls
                    if c["method"] == method and (channel is None or c["args"].get("channel") == channel)]

    def wait_for(self, method: str, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        """The first call of `method` whose arguments `match`; fails after `timeout` seconds."""
        self._wait(lambda: any(match(a) for a in self.of(method)), f"a matching {method}", timeout)
        return next(a for a in self.of(method) if match(a))

    def posts(self, channel: str) -> list[dict[str, Any]]:
        """Arguments of every `chat.postMessage` call to `channel` so far, oldest first."""
        with self.lock:
            return [c["args"] for c in self.calls if c["method"] == "chat.postMessage" and c["args"].get("channel") == channel]

    def wait_for_posts(self, channel: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The posts to `channel` once there are at least `count`; fails after `timeout` seconds."""
        self._wait(lambda: len(self.posts(channel)) >= count, f"{count} post(s) to {channel}", timeout)
        return self.posts(channel)

    def wait_for_post(self, channel: str, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        """The first post to `channel` that `match`es; fails after `timeout` seconds."""
        self._wait(lambda: any(match(p) for p in self.posts(channel)), f"a matching post to {channel}", timeout)
        return next(p for p in self.posts(channel) if match(p))

    def _wait(self, done: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {what} within {timeout} s; calls so far: {self.calls}")
            time.sleep(0.05)


@contextmanager
def running_fake_slack() -> Iterator[FakeSlack]:
    state = FakeSlack(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
            if "json" in self.headers.get("Content-Type", ""):
                args = json.loads(body or "{}")
            else:
                args = dict(parse_qsl(body))
            method = self.path.split("?")[0].rsplit("/", 1)[-1]  # /api/chat.postMessage
            call = {"method": method, "token": _bearer(self.headers.get("Authorization")), "args": args, "at": time.time()}
            with state.lock:
                state.calls.append(call)
            answer: dict[str, Any] = {"ok": True}
            if method == "chat.postMessage":
                answer.update(channel=args.get("channel"), ts=f"{time.time():.6f}")
            elif method == "users.info":
                name = state.users.get(str(args.get("user")))
                if name is None:
                    answer = {"ok": False, "error": "user_not_found"}
                else:
                    answer["user"] = {"id": args.get("user"), "name": name.lower(), "profile": {"display_name": name}}
            with state.lock:
                call["answer"] = answer  # what the app got back: a post's `ts`, for chat.delete
            send_json(self, 200, answer)

        def log_message(self, *args: object) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as base_url:
        state.url = f"{base_url}/api/"
        yield state


def _bearer(header: Optional[str]) -> Optional[str]:
    return header.removeprefix("Bearer ") if header else None
