"""Live handoff end to end: a visitor on the widget (a real WebSocket) or REST chooses "Chat now",
the brief reaches a fake Slack Web API on loopback, reps click and write in the thread through
signed Slack requests to the running Rasa server, and the bot steps aside and comes back."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from typing import Any, Iterator, Optional
from urllib.parse import urlencode

import pytest
import requests

from bot.evaluation.stack import Stack, free_port, running_stack
from bot.handoff import live, live_messages
from bot.rasa_integration.training import train_if_changed
from tests.e2e.fake_slack import FakeSlack, running_fake_slack
from tests.e2e.test_slack import SECRET, TOKEN, event_body, new_ts, post
from tests.e2e.widget_client import WidgetClient

pytestmark = pytest.mark.slow

SALES = "CSALES"
WAIT_SECONDS = 10
TRANSCRIPT: list[str] = []  # the widget's side of the first test, printed for the closing note
SLACK_SIDE: list[tuple[float, str]] = []  # what reps did in Slack, with the time, for the Slack side


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with running_fake_slack() as running:
        running.users.update({"UDANA": "Dana", "USAM": "Sam"})
        yield running


@pytest.fixture(scope="module")
def stack(project_settings, fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    train_if_changed(project_settings)
    env = {
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "LANTERN_SLACK_API_URL": fake.url,
        "LANTERN_SALES_CHANNEL": SALES, "LANTERN_HANDOFF_WAIT": str(WAIT_SECONDS),
        "LANTERN_BUSINESS_HOURS": "Mon-Sun 00:00-23:59", "LANTERN_DEMO_PORT": str(free_port()),
    }
    with running_stack(tmp_path_factory.mktemp("live"), extra_env=env) as running:
        yield running


# The reps' side: signed requests, as Slack sends them.


def rep_clicks(stack: Stack, user: str, action: str, handoff_id: int) -> requests.Response:
    payload = {
        "type": "block_actions", "user": {"id": user}, "team": {"id": "T1"}, "channel": {"id": SALES},
        "message": {"ts": "1.0", "text": "brief"},
        "actions": [{"type": "button", "action_id": action, "value": str(handoff_id), "action_ts": new_ts()}],
    }
    SLACK_SIDE.append((time.time(), f"{user} clicks [{action.removeprefix('lantern-handoff-')}]"))
    response = post(stack, urlencode({"payload": json.dumps(payload)}).encode(), form=True)
    assert response.status_code == 200, response.text
    return response


def rep_writes(stack: Stack, user: str, thread_ts: str, text: str, event_id: Optional[str] = None,
               retry: Optional[str] = None) -> requests.Response:
    event = {"type": "message", "channel_type": "channel", "channel": SALES, "user": user, "text": text,
             "ts": new_ts(), "thread_ts": thread_ts}
    headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else None
    SLACK_SIDE.append((time.time(), f"{user} writes in the thread{' (Slack retry ' + retry + ')' if retry else ''}: {text}"))
    response = post(stack, event_body(event, event_id), headers=headers)
    assert response.status_code == 200, response.text
    return response


def thread_posts(fake: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [p for p in fake.posts(SALES) if p.get("thread_ts") == ts]


def wait_until(check, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"expected {what} within {timeout} s")


def handoff_of(stack: Stack, conversation_id: str) -> live.Handoff:
    return wait_until(lambda: live.active_handoff(stack.settings.db_url, conversation_id), "a live handoff")


# The visitor's side.

TO_CHAT_NOW = [
    ("our newsletter keeps landing in spam", "What are you seeing"),
    ("open rates halved since march", "What does it cost you"),
    ("we lose repeat orders", "What have you already tried"),
    ("we tried changing the subject lines", ""),
    ("ok, can i get a quote for fixing this?", "put you in touch"),
    ("yes please", "What's your name"),
    ("Priya Shah", "Which work email"),
    ("priya@harbourfoods.example", "Which company"),
    ("Harbour Foods", "How would you like them to follow up"),
    ("Chat now", "may the team contact you"),
    ("yes", "I've asked someone to join this chat"),
]


def ws_url(stack: Stack) -> str:
    return stack.settings.rasa_url.replace("http", "ws") + "/webhooks/widget/ws"


def shown(messages: list[dict[str, Any]]) -> list[str]:
    lines = []
    for m in messages:
        who = "Visitor" if m["sender"] == "visitor" else (m.get("rep") if m.get("rep") and not m.get("notice") else "Lantern")
        lines.append(f"[widget] {'(notice) ' if m.get('notice') else ''}{who}: {m['text']}")
    return lines


async def pushed(client: WidgetClient, match, timeout: float = 10.0) -> dict[str, Any]:
    """The next history message pushed to the widget that `match`es."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client.next_frame(max(0.1, deadline - loop.time()))
        if frame["type"] == "messages":
            TRANSCRIPT.extend(shown(frame["messages"]))
            for message in frame["messages"]:
                if match(message):
                    return message


def test_a_rep_takes_the_widget_conversation_talks_and_hands_back(stack: Stack, fake: FakeSlack) -> None:
    session = ""  # the server issues it (with its token) on the first hello

    async def visit() -> None:
        nonlocal session
        client = await WidgetClient.connect(ws_url(stack), stack.settings.demo_url)
        session = client.session_id
        await client.until("messages")
        for text, expected in TO_CHAT_NOW:
            before = len(client.frames)
            said = await client.turn(text)
            TRANSCRIPT.extend(shown(said))
            assert expected in "\n".join(m["text"] for m in said if m["sender"] == "bot"), (text, said)
        assert any(f["type"] == "typing" and f["on"] for f in client.frames[before:])  # the bot was answering

        handoff = handoff_of(stack, session)
        assert handoff.state == live.WAITING and handoff.visitor_channel == "widget"
        brief = fake.wait_for_post(SALES, lambda p: p.get("blocks") and "thread_ts" not in p)
        assert "Priya Shah" in brief["text"] and "our newsletter keeps landing in spam" in json.dumps(brief["blocks"])
        assert brief["blocks"][-1]["elements"][0]["action_id"] == live_messages.TAKE
        ts = handoff.slack_ts or ""
        intro = wait_until(lambda: thread_posts(fake, ts), "the thread's first line")[0]
        assert "`note:`" in intro["text"]

        # Waiting: what the visitor types reaches the thread, and the bot stays silent.
        start = len(client.frames)
        said = await client.turn("is anyone there?")
        TRANSCRIPT.extend(shown(said))
        assert [m["sender"] for m in said] == ["visitor"]
        assert not any(f["type"] == "typing" for f in client.frames[start:])
        wait_until(lambda: any(p["text"] == "*Visitor:* is anyone there?" for p in thread_posts(fake, ts)), "the relay")

        # Two reps click "Take" at the same moment: one owner, the other is told who.
        clicks = [threading.Thread(target=rep_clicks, args=(stack, rep, live_messages.TAKE, handoff.id))
                  for rep in ("UDANA", "USAM")]
        for click in clicks:
            click.start()
        for click in clicks:
            click.join()
        joined = await pushed(client, lambda m: m.get("notice") == "joined")
        owner = live.get_handoff(stack.settings.db_url, handoff.id)
        assert owner is not None and owner.state == live.WITH_REP
        other = "Sam" if owner.rep_name == "Dana" else "Dana"
        assert joined["text"] == f"{owner.rep_name} from Copperleaf Digital joined. You're chatting with a person now."
        assert joined["rep"] == owner.rep_name
        told = fake.wait_for("chat.postEphemeral", lambda a: "already took" in a["text"])
        assert told["user"] != owner.rep_id and told["text"] == f"{owner.rep_name} already took this conversation."
        updates = wait_until(lambda: fake.of("chat.update", SALES), "the brief updated")
        assert len(updates) == 1 and f"{owner.rep_name} took this conversation" in updates[0]["text"]
        assert all(b["type"] != "actions" for b in updates[0]["blocks"])
        controls = wait_until(lambda: [p for p in thread_posts(fake, ts) if p.get("blocks")], "the rep's buttons")[0]
        assert [e["action_id"] for e in controls["blocks"][-1]["elements"]] == [live_messages.HAND_BACK, live_messages.CLOSE]
        rep, rep_id = owner.rep_name or "", owner.rep_id or ""
        TRANSCRIPT.append(f"[slack] (two clicks on Take) -> {rep} owns it; {other} told: {told['text']}")

        # With the rep: the visitor's message is in the thread within a second, no bot reply.
        sent = time.monotonic()
        said = await client.turn("great, what would fixing the spam problem cost?")
        TRANSCRIPT.extend(shown(said))
        assert [m["sender"] for m in said] == ["visitor"]
        wait_until(lambda: any("what would fixing the spam problem cost?" in p["text"] for p in thread_posts(fake, ts)),
                   "the visitor's message in the thread", timeout=1.0)
        relay_seconds = time.monotonic() - sent

        # The rep's reply reaches the widget under the rep's name; a note and a retry never do.
        reply_id = f"Ev{uuid.uuid4().hex[:12]}"
        rep_writes(stack, rep_id, ts, "note: price-sensitive, mention the audit package")
        rep_writes(stack, rep_id, ts, "Hi Priya, I'm with the team. A deliverability fix is usually a two-week job.",
                   event_id=reply_id)
        reply = await pushed(client, lambda m: m.get("rep") and not m.get("notice"))
        assert reply["rep"] == rep and reply["text"].startswith("Hi Priya")
        retried = rep_writes(stack, rep_id, ts, "Hi Priya, I'm with the team. A deliverability fix is usually a "
                             "two-week job.", event_id=reply_id, retry="1")
        assert retried.json()["ignored"] == "event already received"
        rep_writes(stack, "USAM" if rep_id == "UDANA" else "UDANA", ts, "I can help too!")
        fake.wait_for("chat.postEphemeral", lambda a: a["text"].startswith("Not sent: only"))
        rep_writes(stack, rep_id, ts, "Shall I send you a short plan by email?")
        second = await pushed(client, lambda m: m.get("rep") and "short plan" in m["text"])
        assert second["rep"] == rep

        events = stack.tracker(session)["events"]
        from_rep = [e for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("lantern_rep")
                    and not e["metadata"].get("lantern_handoff")]
        assert [e["text"][:12] for e in from_rep] == ["Hi Priya, I'", "Shall I send"]  # once each, no note
        assert all(e["metadata"]["lantern_rep"] == {"id": rep_id, "name": rep} for e in from_rep)
        assert not any("price-sensitive" in (e.get("text") or "") for e in events if e["event"] == "bot")
        assert not any("I can help too" in (e.get("text") or "") for e in events)

        # Hand back: one line from Lantern, and the next message is answered from the conversation so far.
        rep_clicks(stack, rep_id, live_messages.HAND_BACK, handoff.id)
        back = await pushed(client, lambda m: m.get("notice") == "back")
        assert back["text"] == "Lantern is back. I have our conversation so far; ask me anything."
        wait_until(lambda: any("handed it back" in u["text"] for u in fake.of("chat.update", SALES)), "the brief updated")
        start = len(client.frames)
        said = await client.turn("why do emails end up in spam anyway?")
        TRANSCRIPT.extend(shown(said))
        answer = "\n".join(m["text"] for m in said if m["sender"] == "bot")
        assert answer and "A couple of quick questions" not in answer and "What are you trying to fix" not in answer
        assert any(f["type"] == "typing" and f["on"] for f in client.frames[start:])  # the bot answers again
        await client.close()

        app_side = [(c["at"], f"Lantern app {c['method']}"
                     + (f" (only {c['args']['user']} sees it)" if c["method"] == "chat.postEphemeral" else "")
                     + f": {c['args'].get('text', '')}")
                    for c in fake.calls if c["method"] != "users.info" and
                    (c["args"].get("thread_ts") == ts or c["args"].get("ts") == ts or c["args"].get("blocks"))]
        TRANSCRIPT.extend(f"[slack] {line}" for _, line in sorted(app_side + SLACK_SIDE))
        TRANSCRIPT.append(f"[measured] visitor message -> Slack thread: {relay_seconds * 1000:.0f} ms")

    asyncio.run(asyncio.wait_for(visit(), 150))
    steps = [(t.from_state, t.to_state) for t in live.transitions(stack.settings.db_url, handoff_of_any(stack, session))]
    assert steps == [("with_bot", "waiting_for_rep"), ("waiting_for_rep", "with_rep"), ("with_rep", "with_bot")]
    print("\n".join(TRANSCRIPT))


def handoff_of_any(stack: Stack, conversation_id: str) -> int:
    return next(h.id for h in live.list_handoffs(stack.settings.db_url) if h.conversation_id == conversation_id)


def rest_to_chat_now(stack: Stack, visitor: str) -> live.Handoff:
    for text, expected in TO_CHAT_NOW:
        assert expected in stack.texts(visitor, text), text
    return handoff_of(stack, visitor)


def bot_texts(stack: Stack, visitor: str) -> list[str]:
    return [e["text"] for e in stack.tracker(visitor)["events"] if e["event"] == "bot"]


def lantern(stack: Stack, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **stack.env}
    return subprocess.run([sys.executable, "-m", "bot.cli", *argv], env=env, capture_output=True, text=True, timeout=60)


def test_the_relay_goes_on_across_a_rasa_restart_and_release_frees_the_conversation(stack: Stack, fake: FakeSlack) -> None:
    visitor = f"rest-{uuid.uuid4().hex[:8]}"
    handoff = rest_to_chat_now(stack, visitor)
    ts = handoff.slack_ts or ""
    rep_clicks(stack, "UDANA", live_messages.TAKE, handoff.id)
    wait_until(lambda: any("Dana from Copperleaf Digital joined" in t for t in bot_texts(stack, visitor)), "the joined notice")

    stack.restart_rasa()

    # The bot stays silent; the answer carries only what was said since, here the notice that Dana joined.
    assert [m["text"] for m in stack.say(visitor, "still there after your outage?")] == [
        "Dana from Copperleaf Digital joined. You're chatting with a person now."]
    wait_until(lambda: any("still there after your outage?" in p["text"] for p in thread_posts(fake, ts)), "the relay")
    rep_writes(stack, "UDANA", ts, "Yes, still here. Nothing was lost.")
    wait_until(lambda: "Yes, still here. Nothing was lost." in bot_texts(stack, visitor), "the rep's reply stored")

    listed = lantern(stack, "handoff", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if row.startswith(f"#{handoff.id} "))
    assert "with_rep" in line and "rep Dana (UDANA)" in line and visitor in line and "ongoing" in line

    released = lantern(stack, "handoff", "release", str(handoff.id))
    assert released.returncode == 0, released.stderr
    assert live.get_handoff(stack.settings.db_url, handoff.id).end_reason == live.RELEASED  # type: ignore[union-attr]
    assert "Lantern is back" in bot_texts(stack, visitor)[-1]
    answer = stack.say(visitor, "why do emails end up in spam anyway?")
    # REST has no push: what came from outside the turns comes first in the next answer.
    assert answer[0] == {"recipient_id": visitor, "text": "Yes, still here. Nothing was lost.", "rep": "Dana"}
    assert answer[1]["text"].startswith("Lantern is back") and "rep" not in answer[1]
    assert len(answer) > 2  # and the bot answers the question
    assert lantern(stack, "handoff", "release", "999999").returncode == 1


def test_nobody_takes_it_the_visitor_is_told_and_the_channel_pinged(stack: Stack, fake: FakeSlack) -> None:
    visitor = f"rest-{uuid.uuid4().hex[:8]}"
    handoff = rest_to_chat_now(stack, visitor)
    ts = handoff.slack_ts or ""
    told = wait_until(
        lambda: [t for t in bot_texts(stack, visitor) if t.startswith("I'm sorry: nobody from the team")],
        "the visitor told nobody came", timeout=WAIT_SECONDS + 10,
    )
    assert "will email you at priya@harbourfoods.example" in told[0]
    ping = wait_until(lambda: [p for p in thread_posts(fake, ts) if p["text"].startswith("<!here>")], "the ping")
    assert len(ping) == 1 and "priya@harbourfoods.example" in ping[0]["text"]
    ended = live.get_handoff(stack.settings.db_url, handoff.id)
    assert ended is not None and ended.end_reason == live.TIMED_OUT
    assert ended.ended_at is not None and ended.ended_at - ended.requested_at >= timedelta(seconds=WAIT_SECONDS)

    rep_clicks(stack, "USAM", live_messages.TAKE, handoff.id)  # too late
    fake.wait_for("chat.postEphemeral", lambda a: a["text"].startswith("Too late to take this one"))
    assert live.get_handoff(stack.settings.db_url, handoff.id).state == live.WITH_BOT  # type: ignore[union-attr]
    assert stack.texts(visitor, "why do emails end up in spam anyway?")  # the bot is back


def test_the_rep_closes_the_chat_and_lantern_says_so(stack: Stack, fake: FakeSlack) -> None:
    visitor = f"rest-{uuid.uuid4().hex[:8]}"
    handoff = rest_to_chat_now(stack, visitor)
    rep_clicks(stack, "UDANA", live_messages.TAKE, handoff.id)
    wait_until(lambda: any("Dana from Copperleaf Digital joined" in t for t in bot_texts(stack, visitor)), "the joined notice")
    rep_clicks(stack, "USAM", live_messages.CLOSE, handoff.id)  # not hers to close
    fake.wait_for("chat.postEphemeral", lambda a: a["user"] == "USAM" and a["text"].startswith("Only Dana can end"))
    rep_clicks(stack, "UDANA", live_messages.CLOSE, handoff.id)
    wait_until(lambda: "Dana ended the chat. Lantern is back if you need anything else." in bot_texts(stack, visitor),
               "the visitor told")
    closed = live.get_handoff(stack.settings.db_url, handoff.id)
    assert closed is not None and closed.state == live.CLOSED
    wait_until(lambda: any(u["ts"] == handoff.slack_ts and "Closed by Dana" in u["text"] for u in fake.of("chat.update")),
               "the brief updated")
    assert len(stack.say(visitor, "why do emails end up in spam anyway?")) > 1  # the notice, then the bot's answer
