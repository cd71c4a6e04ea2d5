"""The widget channel's connection handling, in-process: a scripted socket stands in for the
browser and a small tracker store for Rasa's (end-to-end tests use the real ones)."""

import asyncio
import json
from typing import Any, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.widget import WidgetInput
from bot.security.signing import widget_token
from bot.settings import load_settings
from tests.conftest import PROJECT_HOME

SETTINGS = load_settings(environ={"LANTERN_SECRET_KEY": "unit-test-key"}, home=PROJECT_HOME)
KEY = SETTINGS.signing_key
SESSION = "w-" + "0" * 32


def hello(after: int = -1, session_id: str = SESSION, token: Optional[str] = None) -> dict:
    return {"type": "hello", "session_id": session_id, "token": token or widget_token(KEY, session_id), "after": after}


class ScriptedSocket:
    """Hands the channel the given frames one by one, then reports the connection closed."""

    def __init__(self, frames: list[Any]) -> None:
        self.incoming = [f if isinstance(f, (str, bytes)) else json.dumps(f) for f in frames]
        self.sent: list[dict] = []

    async def recv(self) -> Optional[str]:
        await asyncio.sleep(0)
        return self.incoming.pop(0) if self.incoming else None

    async def send(self, frame: str) -> None:
        self.sent.append(json.loads(frame))

    def of_type(self, kind: str) -> list[dict]:
        return [f for f in self.sent if f["type"] == kind]


class TrackerStore:
    def __init__(self) -> None:
        self.events: dict[str, list] = {}

    async def retrieve_full_tracker(self, sender_id: str) -> Optional[DialogueStateTracker]:
        if sender_id not in self.events:
            return None
        return DialogueStateTracker.from_events(sender_id, self.events[sender_id])


def channel_with_bot(store: TrackerStore) -> tuple[WidgetInput, list[UserMessage], Callable]:
    """A channel whose 'bot' echoes each message, saving like Rasa and notifying like the store."""
    channel = WidgetInput(SETTINGS)
    channel.tracker_store = store
    received: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        store.events.setdefault(message.sender_id, []).extend(
            [
                UserUttered(message.text, message_id=message.message_id, metadata=message.metadata),
                BotUttered(f"echo: {message.text}"),
            ]
        )
        await channel.push_new_messages(message.sender_id)

    return channel, received, on_new_message


def serve(channel: WidgetInput, socket: ScriptedSocket, on_new_message: Optional[Callable]) -> None:
    asyncio.run(channel.serve(socket, on_new_message))


def test_a_turn_is_passed_to_rasa_once_and_its_messages_come_back_numbered() -> None:
    store = TrackerStore()
    channel, received, on_new_message = channel_with_bot(store)
    socket = ScriptedSocket(
        [
            hello(),
            {"type": "message", "id": "m-00000001", "text": "/feedback_helpful", "display": "Yes, it helped"},
            {"type": "message", "id": "m-00000001", "text": "/feedback_helpful", "display": "Yes, it helped"},
        ]
    )
    serve(channel, socket, on_new_message)
    assert len(received) == 1, "the resent message was handled again"
    message = received[0]
    assert (message.sender_id, message.message_id, message.input_channel) == (SESSION, "m-00000001", "widget")
    assert message.metadata == {"lantern_display": "Yes, it helped"}
    pushed = [m for f in socket.of_type("messages") for m in f["messages"]]
    assert [(m["seq"], m["sender"], m["text"]) for m in pushed] == [
        (0, "visitor", "Yes, it helped"),
        (1, "bot", "echo: /feedback_helpful"),
    ]
    assert [f["id"] for f in socket.of_type("ack")] == ["m-00000001", "m-00000001"]
    assert socket.of_type("typing") == [{"type": "typing", "on": True}, {"type": "typing", "on": False}]


def test_a_reconnecting_tab_gets_only_what_it_has_not_seen() -> None:
    store = TrackerStore()
    store.events[SESSION] = [UserUttered("hi", message_id="m-00000001"), BotUttered("hello"), BotUttered("what's up?")]
    channel, _, _ = channel_with_bot(store)
    socket = ScriptedSocket([hello(after=1)])
    serve(channel, socket, None)
    [frame] = socket.of_type("messages")
    assert [(m["seq"], m["text"]) for m in frame["messages"]] == [(2, "what's up?")]


def test_a_new_tab_is_told_when_there_is_no_history_yet() -> None:
    channel, _, _ = channel_with_bot(TrackerStore())
    socket = ScriptedSocket([hello()])
    serve(channel, socket, None)
    assert socket.sent == [
        {"type": "session", "session_id": SESSION, "token": widget_token(KEY, SESSION)},
        {"type": "messages", "messages": []},
    ]


def test_bad_frames_and_refused_messages_never_reach_rasa() -> None:
    store = TrackerStore()
    channel, received, on_new_message = channel_with_bot(store)
    socket = ScriptedSocket(
        [
            b"\xff",
            {"type": "message", "id": "m-00000001", "text": "before hello"},
            hello(),
            {"type": "message", "id": "m-00000002", "text": "x" * 5000},
            {"type": "message", "id": "m-00000003", "text": "\u0000\u0001  "},
        ]
    )
    serve(channel, socket, on_new_message)
    assert received == []
    reasons = [f["reason"] for f in socket.of_type("error")]
    assert "UTF-8" in reasons[0] and "hello" in reasons[1]
    assert [f["id"] for f in socket.of_type("notice")] == ["m-00000002", "m-00000003"]
    assert [f["id"] for f in socket.of_type("ack")] == ["m-00000002", "m-00000003"]


def test_a_failing_turn_gets_an_apology_and_the_tab_is_forgotten_when_it_closes() -> None:
    store = TrackerStore()
    channel, _, _ = channel_with_bot(store)

    async def broken(message: UserMessage) -> None:
        raise RuntimeError("model not loaded")

    socket = ScriptedSocket([hello(), {"type": "message", "id": "m-00000001", "text": "hi"}])
    serve(channel, socket, broken)
    assert "something went wrong" in socket.of_type("notice")[0]["text"]
    assert socket.of_type("typing")[-1] == {"type": "typing", "on": False}
    assert channel.connections == {} and channel.in_flight == set()


def test_history_goes_only_to_the_holder_of_the_session_token() -> None:
    store = TrackerStore()
    store.events[SESSION] = [UserUttered("my email is ana@example.com", message_id="m-00000001"), BotUttered("thanks")]
    channel, _, _ = channel_with_bot(store)
    for attempt in (
        {"type": "hello", "session_id": SESSION, "after": -1},  # the id alone, as in the finding
        hello(token="A" * 43),  # a made-up token
        hello(session_id="w-" + "1" * 32, token=widget_token(KEY, SESSION)),  # another session's token
    ):
        socket = ScriptedSocket([attempt])
        serve(channel, socket, None)
        [session] = socket.of_type("session")
        assert session["session_id"] != SESSION and session["session_id"].startswith("w-")
        assert socket.of_type("messages") == [{"type": "messages", "messages": []}]
        assert "ana@example.com" not in json.dumps(socket.sent)
    holder = ScriptedSocket([hello()])
    serve(channel, holder, None)
    assert [m["text"] for m in holder.of_type("messages")[0]["messages"]] == ["my email is ana@example.com", "thanks"]


def test_a_tab_over_its_rate_is_asked_calmly_to_wait_and_nothing_reaches_rasa() -> None:
    from bot.security.rate_limit import Limits

    store = TrackerStore()
    channel, received, on_new_message = channel_with_bot(store)
    channel.limits = Limits.of(100, 2, 100)
    socket = ScriptedSocket([hello()] + [{"type": "message", "id": f"m-0000000{i}", "text": f"hi {i}"} for i in range(3)])
    serve(channel, socket, on_new_message)
    assert [m.text for m in received] == ["hi 0", "hi 1"]
    [limited] = socket.of_type("limited")
    assert limited["id"] == "m-00000002" and 1 <= limited["retry_after"] <= 60
    assert "faster than I can read" in limited["text"]
    assert "m-00000002" in [f["id"] for f in socket.of_type("ack")]  # the tab stops resending it


def test_delete_this_conversation_removes_it_and_tells_every_tab(tmp_path) -> None:
    from dataclasses import replace

    from sqlalchemy import select

    from bot.db import session_scope, upgrade_schema
    from bot.models import PrivacyAudit

    db_url = f"sqlite:///{tmp_path / 'lantern.db'}"
    upgrade_schema(db_url)
    store = TrackerStore()
    store.events[SESSION] = [UserUttered("hi", message_id="m-00000001"), BotUttered("hello")]
    channel, _, _ = channel_with_bot(store)
    channel.settings = replace(SETTINGS, db_url=db_url, tracker_db_url=f"sqlite:///{tmp_path / 'tracker.db'}")
    socket = ScriptedSocket([hello(), {"type": "forget"}, {"type": "message", "id": "m-00000009", "text": "hi"}])
    serve(channel, socket, None)
    assert socket.of_type("forgotten") == [{"type": "forgotten"}]
    assert "hello" in socket.of_type("error")[-1]["reason"]  # the deleted session is no longer held
    with session_scope(db_url) as session:
        [audit] = session.execute(select(PrivacyAudit)).scalars().all()
    assert (audit.action, audit.origin) == ("forget", "widget")
    assert SESSION not in json.dumps(audit.counts)
