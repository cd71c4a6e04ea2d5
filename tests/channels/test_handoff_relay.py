"""The relay's choices without a running server: which visitor messages go to the rep's thread,
and how a rep's reply reaches a visitor who talks to Lantern in Slack."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, Optional

from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.handoff_relay import HandoffRelay
from bot.handoff import live
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
