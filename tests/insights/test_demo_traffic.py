"""Demo traffic against a stand-in REST channel on loopback that counts with the server's own
limiter (bot/security/rate_limit.py) and answers 429 the way the real channel does: the demo paces
itself to the limits, resends every refused message, and reports what it could not play.
The real channel is in tests/e2e/test_demo_traffic.py."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator, Optional
from urllib.parse import urlparse

import pytest
import requests

from bot import cli
from bot.insights.demo_traffic import Pacer, demo_scripts, duration, estimate_seconds, play_demo_traffic, retry_after_seconds
from bot.security.rate_limit import Limits
from bot.settings import Settings, load_settings
from tests.conftest import PROJECT_HOME
from tests.loopback import send_json, serving

Answer = Optional[tuple[int, dict[str, str], object]]  # status, headers, JSON body; None: let the limits decide


@dataclass
class FakeRest:
    limits: Limits
    retry_after: bool = True  # send Retry-After on a 429, as the real channel does
    special: Optional[Callable[[str, str], Answer]] = None  # (sender, message) -> an answer of its own
    accepted: dict[str, list[str]] = field(default_factory=dict)  # sender -> messages, in order
    arrivals: list[float] = field(default_factory=list)  # when each POST arrived (refused ones too)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def answer(self, sender: str, message: str) -> tuple[int, dict[str, str], object]:
        with self.lock:
            self.arrivals.append(time.monotonic())
        special = self.special(sender, message) if self.special else None
        if special is not None:
            return special
        wait = self.limits.client("127.0.0.1")
        if wait is not None:
            return self.too_many(wait, "client")
        wait = self.limits.conversation("rest\n" + sender)
        if wait is not None:
            return self.too_many(wait, "conversation")
        with self.lock:
            self.accepted.setdefault(sender, []).append(message)
        return 200, {}, [{"recipient_id": sender, "text": "ok"}]

    def too_many(self, wait: int, limit: str) -> tuple[int, dict[str, str], object]:
        with self.lock:
            self.refused += 1
        headers = {"Retry-After": str(wait)} if self.retry_after else {}
        return 429, headers, {"error": f"too many messages; try again in {wait} s", "limit": limit}


@contextmanager
def fake_rest(limits: Limits, **options: object) -> Iterator[FakeRest]:
    state = FakeRest(limits, **options)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            self.reply(200, {}, "Hello from Rasa")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.reply(*state.answer(body["sender"], body["message"]))

        def reply(self, status: int, headers: dict[str, str], body: object) -> None:
            send_json(self, status, body, headers)

        def log_message(self, *args: object) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        state.port = int(urlparse(url).port or 0)
        yield state


def settings_for(server: FakeRest, per_client: int, per_conversation: int, window: int) -> Settings:
    return replace(load_settings(home=PROJECT_HOME), rasa_host="127.0.0.1", rasa_port=server.port,
                   rate_per_client=per_client, rate_per_conversation=per_conversation, rate_window_seconds=window)


def assert_every_conversation_arrived_complete(server: FakeRest, run: str, conversations: int, seed: int) -> None:
    expected = dict(demo_scripts(conversations, seed, run))
    assert server.accepted == expected  # every message once, in its order: nothing cut short or sent twice


def test_the_pacer_never_puts_more_than_the_limit_in_any_window() -> None:
    pacer = Pacer(limit=4, window=0.5)
    taken = [pacer.acquire() for _ in range(13)]
    assert all(t is not None for t in taken)
    times = [t for t in taken if t is not None]
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t - start < 0.5) <= 4
    assert times[-1] - times[0] >= 3 * 0.5  # 13 sends at 4 per window: three windows past the first
    pacer.pause(0.3)
    before = time.monotonic()
    pacer.wait_free()
    assert time.monotonic() - before >= 0.29


def test_retry_after_is_honoured_in_seconds_or_as_a_date_and_backs_off_without_one() -> None:
    def answer(headers: dict[str, str]) -> requests.Response:
        response = requests.Response()
        response.status_code = 429
        response.headers.update(headers)
        return response

    assert retry_after_seconds(answer({"Retry-After": "7"}), 1, 60) == 7
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 <= retry_after_seconds(answer({"Retry-After": in_a_minute}), 1, 60) <= 61
    assert [retry_after_seconds(answer({}), n, 10) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]


def test_the_estimate_is_the_time_the_limit_takes() -> None:
    scripts = [("a", ["m"] * 10), ("b", ["m"] * 5)]
    assert estimate_seconds(scripts, per_client=60, per_conversation=20, window=60) == 0  # one window holds them
    assert estimate_seconds(scripts, per_client=5, per_conversation=20, window=60) == 120  # 15 messages, 5 a minute
    assert estimate_seconds(scripts, per_client=100, per_conversation=3, window=10) == 30  # 10 messages, 3 at a time
    assert [duration(s) for s in (4, 75, 1020, 4000)] == ["4 s", "1 min 15 s", "17 min", "1 h 6 min"]


def test_paced_to_the_limits_the_server_refuses_nothing_and_every_conversation_arrives() -> None:
    with fake_rest(Limits.of(10, 4, 1000, window=2)) as server:
        lines: list[str] = []
        report = play_demo_traffic(settings_for(server, 10, 4, 2), 6, seed=3, progress=lines.append, every=0)
    assert report.failed == [] and report.complete == 6
    assert server.refused == 0 and report.refused == 0
    assert_every_conversation_arrived_complete(server, report.run, 6, 3)
    messages = report.messages
    assert report.seconds >= (messages - 1) // 10 * 2  # it waited for the limit, as announced
    assert lines[0].startswith(f"playing 6 demo conversations ({messages} messages)")
    assert "10 messages every 2 s" in lines[1] and f"about {duration(estimate_seconds(demo_scripts(6, 3, 'x'), 10, 4, 2))}" in lines[1]
    assert lines[-1].startswith(f"  6/6 conversations, {messages}/{messages} messages")


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_a_server_with_lower_limits_than_the_settings_say_refuses_and_every_message_is_sent_again(retry_after: bool) -> None:
    with fake_rest(Limits.of(8, 3, 1000, window=1), retry_after=retry_after) as server:
        lines: list[str] = []
        report = play_demo_traffic(settings_for(server, 1000, 1000, 1), 8, seed=5, workers=4, progress=lines.append)
    assert report.failed == [] and report.complete == 8
    assert server.refused > 0 and report.refused == server.refused
    assert_every_conversation_arrived_complete(server, report.run, 8, 5)
    assert any("the server refused a message: HTTP 429" in line for line in lines)
    assert "refused with 429 and sent again" in lines[-1]


def test_a_conversation_that_cannot_be_played_is_reported_with_how_far_it_got_and_the_rest_go_on() -> None:
    run = "fail01"
    scripts = demo_scripts(6, 11, run)
    broken, long_blocked = scripts[1][0], scripts[4][0]

    def special(sender: str, message: str) -> Answer:
        if sender == broken and message == scripts[1][1][-1]:
            return 500, {}, {"error": "boom"}
        if sender == long_blocked:  # the day's limit for a conversation: come back tomorrow
            return 429, {"Retry-After": "86400"}, {"error": "too many messages in this conversation", "limit": "conversation"}
        return None

    with fake_rest(Limits.of(1000, 1000, 1000), special=special) as server:
        lines: list[str] = []
        report = play_demo_traffic(settings_for(server, 1000, 1000, 60), 6, seed=11, progress=lines.append, run=run)
    assert report.conversations == 6 and report.complete == 4
    failed = {f.conversation_id: f for f in report.failed}
    assert set(failed) == {broken, long_blocked}
    assert (failed[broken].arrived, failed[broken].total) == (len(scripts[1][1]) - 1, len(scripts[1][1]))
    assert failed[broken].reason == "HTTP 500 (boom)"
    assert failed[long_blocked].arrived == 0 and "asks to wait 24 h 0 min more" in failed[long_blocked].reason
    assert any(line.startswith(f"  {broken} failed after") for line in lines)
    assert {s: m for s, m in scripts if s not in failed} == {s: m for s, m in server.accepted.items() if s not in failed}


def test_the_command_prints_the_plan_progress_and_every_failed_conversation(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.settings import get_settings

    def special(sender: str, message: str) -> Answer:
        return (503, {}, {"error": "down"}) if sender.endswith("-00002") else None

    with fake_rest(Limits.of(1000, 1000, 1000), special=special) as server:
        for name, value in {"LANTERN_RASA_HOST": "127.0.0.1", "LANTERN_RASA_PORT": str(server.port),
                            "LANTERN_RATE_PER_CLIENT": "1000", "LANTERN_RATE_PER_CONVERSATION": "1000"}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            code = cli.main(["demo-traffic", "--conversations", "4", "--seed", "2"])
        finally:
            get_settings.cache_clear()
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("playing 4 demo conversations (")
    assert "played 4 demo conversations in " in out and ": 3 complete, 1 failed (" in out
    assert "1 conversation(s) did not arrive complete:" in out
    assert "-00002: 0 of " in out and "messages arrived; HTTP 503 (down)" in out


def test_the_command_says_so_when_no_server_answers(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.evaluation.stack import free_port
    from bot.settings import get_settings

    monkeypatch.setenv("LANTERN_RASA_PORT", str(free_port()))
    get_settings.cache_clear()
    try:
        code = cli.main(["demo-traffic", "--conversations", "3"])
    finally:
        get_settings.cache_clear()
    assert code == 2 and "does not answer" in capsys.readouterr().err
