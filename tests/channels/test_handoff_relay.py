"""The relay's choices without a running server: which visitor messages go to the rep's thread,
how a rep's reply reaches a visitor who talks to Lantern in Slack, and that what it posts in the
thread is recorded so `forget` deletes it (a fake Slack Web API on loopback)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.handoff_relay import HandoffRelay
from bot.channels.slack_events import HandoffClick
from bot.db import session_scope
from bot.handoff import live, live_messages
from bot.models import SlackPost
from bot.privacy.forget import forget
from bot.settings import load_settings
from tests.conftest import PROJECT_HOME
from tests.e2e.fake_slack import running_fake_slack


class CollectingSlackOutput:
    def __init__(self, sent: list[tuple[str, Optional[str], str]], thread_ts: Optional[str]) -> None:
        self.sent, self.thread_ts = sent, thread_ts

    async def send_text_message(self, channel: str, text: str, **_: Any) -> None:
        self.sent.append((channel, self.thread_ts, text))


def relay_for(db_url: str, slack_url: str) -> HandoffRelay:
    settings = replace(load_settings(home=PROJECT_HOME), db_url=db_url, slack_bot_token="xoxb-t",
                       slack_signing_secret="s", slack_api_url=slack_url, sales_channel="CSALES")
    return HandoffRelay(settings)


def test_only_what_the_visitor_says_after_the_pause_reaches_the_thread(sqlite_url: str) -> None:
    handoff = live.request_live(sqlite_url, "visitor-9", "widget", None)
    live.attach_slack_message(sqlite_url, handoff.id, "CSALES", "100.1")
    events = [
        UserUttered("yes", metadata={"lantern_display": "Yes, that's fine"}),  # the consent: before the pause
        ActionExecuted("action_create_lead"), ConversationPaused(),
        UserUttered("/greet", metadata={"lantern_hidden": True}),
        UserUttered("a@b", metadata={"lantern_display": "Email"}),
        UserUttered("are you there?"),
    ]
    tracker = DialogueStateTracker.from_events("visitor-9", events)
    with running_fake_slack() as fake:
        relay = relay_for(sqlite_url, fake.url)
        asyncio.run(relay.on_events_saved("visitor-9", events, tracker))
        posted = [(p["thread_ts"], p["text"]) for p in fake.posts("CSALES")]
        asyncio.run(relay.on_events_saved("visitor-9", events[:2], DialogueStateTracker.from_events("visitor-9", events[:2])))
        assert len(fake.posts("CSALES")) == 2  # not paused: nothing relayed
    assert posted == [("100.1", "*Visitor:* Email"), ("100.1", "*Visitor:* are you there?")]


def test_a_slack_visitor_gets_the_rep_reply_in_their_own_thread_under_the_rep_name(sqlite_url: str) -> None:
    sent: list[tuple[str, Optional[str], str]] = []
    relay = relay_for(sqlite_url, "http://127.0.0.1:9/api/")
    relay.slack_output = lambda channel, thread_ts: CollectingSlackOutput(sent, thread_ts)
    conversation = "slack:UPRIYA:CGENERAL:1700000001.000100"
    tracker = DialogueStateTracker.from_events(conversation, [UserUttered("yes", metadata={"slack_channel": "CGENERAL"})])
    dana = {"id": "UDANA", "name": "Dana"}
    joined = BotUttered("Dana joined.", metadata={"lantern_handoff": "joined", "lantern_rep": dana})
    reply = BotUttered("Hi Priya", metadata={"lantern_rep": dana})
    notice = BotUttered("Lantern is back.", metadata={"lantern_handoff": "back"})
    asyncio.run(relay._post_to_slack_visitor(tracker, [joined, reply, notice]))
    assert sent == [("CGENERAL", "1700000001.000100", "Dana joined."),
                    ("CGENERAL", "1700000001.000100", "*Dana:* Hi Priya"),
                    ("CGENERAL", "1700000001.000100", "Lantern is back.")]


def forgettable_relay(tmp_path: Path, db_url: str, slack_url: str) -> HandoffRelay:
    relay = relay_for(db_url, slack_url)
    relay.settings = replace(relay.settings, tracker_db_url=f"sqlite:///{tmp_path / 'tracker.db'}", handoff_wait_seconds=0)

    async def visitor_side_not_under_test(handoff: live.Handoff, events: list[Any]) -> None:
        return None

    relay._tell_visitor = visitor_side_not_under_test  # type: ignore[method-assign]
    return relay


def visitor_says(relay: HandoffRelay, conversation: str, *texts: str) -> None:
    events = [ActionExecuted("action_create_lead"), ConversationPaused(), *(UserUttered(t) for t in texts)]
    asyncio.run(relay.on_events_saved(conversation, events, DialogueStateTracker.from_events(conversation, events)))


def thread_posts(fake: Any, thread_ts: str) -> set[tuple[str, str]]:
    """(channel, ts) of every message the fake Slack accepted into the thread `thread_ts`."""
    with fake.lock:
        return {(c["args"]["channel"], c["answer"]["ts"]) for c in fake.calls
                if c["method"] == "chat.postMessage" and c["args"].get("thread_ts") == thread_ts}


def test_forget_deletes_the_visitors_relayed_messages_and_the_relays_other_thread_posts_with_the_brief(
    tmp_path: Path, sqlite_url: str
) -> None:
    mine, other = "w-" + "a" * 32, "w-" + "b" * 32
    with running_fake_slack() as fake:
        relay = forgettable_relay(tmp_path, sqlite_url, fake.url)
        handoff = live.request_live(sqlite_url, mine, "widget", None)
        live.attach_slack_message(sqlite_url, handoff.id, "CSALES", "100.1")
        visitor_says(relay, mine, "my email is dana@harbourfoods.example", "are you there?")
        asyncio.run(relay.on_click(HandoffClick(live_messages.TAKE, handoff.id, "UDANA", "CSALES")))
        visitor_says(relay, mine, "thanks for taking this")
        asyncio.run(relay.on_click(HandoffClick(live_messages.CLOSE, handoff.id, "UDANA", "CSALES")))
        waiting = live.request_live(sqlite_url, other, "rest", None)  # nobody takes this one
        live.attach_slack_message(sqlite_url, waiting.id, "CSALES", "200.2")
        visitor_says(relay, other, "hello?")
        asyncio.run(relay.time_out_expired())

        relayed = thread_posts(fake, "100.1")
        texts = [p["text"] for p in fake.posts("CSALES") if p.get("thread_ts") == "100.1"]
        assert texts[:2] == ["*Visitor:* my email is dana@harbourfoods.example", "*Visitor:* are you there?"]
        assert "*Visitor:* thanks for taking this" in texts and len(relayed) == 5  # + who has it, how it ended
        assert len(thread_posts(fake, "200.2")) == 2  # the visitor's message and "nobody took it"

        removed = forget(relay.settings, conversation_id=mine)
        deleted = {(a["channel"], a["ts"]) for a in fake.of("chat.delete")}
        assert deleted == relayed | {("CSALES", "100.1")}  # every post of its thread and the brief, nothing else
        assert removed.slack_messages == 6 and removed.problems == []

        forget(relay.settings, conversation_id=other)
        deleted = {(a["channel"], a["ts"]) for a in fake.of("chat.delete")}
        assert deleted == relayed | {("CSALES", "100.1")} | thread_posts(fake, "200.2") | {("CSALES", "200.2")}
    with session_scope(sqlite_url) as session:
        assert session.query(SlackPost).count() == 0
