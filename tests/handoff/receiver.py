"""A real HTTP server on loopback playing a CRM webhook receiver that can fail, hang and recover."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, Optional

from bot.handoff.notifiers import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.loopback import serving


@dataclass
class Receiver:
    url: str
    secret: Optional[str] = None
    mode: str = "ok"  # "ok", "fail" or "hang"
    hang_seconds: float = 10.0
    requests: list[dict] = field(default_factory=list)  # every request that arrived
    accepted: dict[str, dict] = field(default_factory=dict)  # deduplicated by idempotency key
    bad_signatures: int = 0

    @property
    def unique_deliveries(self) -> int:
        return len(self.accepted)


@contextmanager
def running_receiver(port: int = 0, secret: Optional[str] = None) -> Iterator[Receiver]:
    state = Receiver(url="", secret=secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            key = self.headers.get(IDEMPOTENCY_HEADER, "")
            state.requests.append({"key": key, "body": body})
            if state.mode == "hang":
                time.sleep(state.hang_seconds)
            if state.mode in ("fail", "hang"):
                self.send_response(503)
                self.end_headers()
                return
            if state.secret is not None:
                expected = sign(state.secret, int(self.headers.get(TIMESTAMP_HEADER, "0")), body)
                if self.headers.get(SIGNATURE_HEADER) != expected:
                    state.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
            state.accepted.setdefault(key, json.loads(body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", port), Handler)) as base_url:
        state.url = f"{base_url}/hook"
        yield state
