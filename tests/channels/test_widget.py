"""The widget channel's connection handling, in-process: a scripted socket stands in for the
browser and a small tracker store for Rasa's (end-to-end tests use the real ones)."""

import asyncio
import json
from typing import Any, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.widget import WidgetInput

SESSION = "session-0001"


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
    channel = WidgetInput()
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
            {"type": "hello", "session_id": SESSION},
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
    socket = ScriptedSocket([{"type": "hello", "session_id": SESSION, "after": 1}])
    serve(channel, socket, None)
    [frame] = socket.of_type("messages")
    assert [(m["seq"], m["text"]) for m in frame["messages"]] == [(2, "what's up?")]


def test_a_new_tab_is_told_when_there_is_no_history_yet() -> None:
    channel, _, _ = channel_with_bot(TrackerStore())
    socket = ScriptedSocket([{"type": "hello", "session_id": SESSION}])
    serve(channel, socket, None)
    assert socket.sent == [{"type": "messages", "messages": []}]


def test_bad_frames_and_refused_messages_never_reach_rasa() -> None:
    store = TrackerStore()
    channel, received, on_new_message = channel_with_bot(store)
    socket = ScriptedSocket(
        [
            b"\xff",
            {"type": "message", "id": "m-00000001", "text": "before hello"},
            {"type": "hello", "session_id": SESSION},
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

    socket = ScriptedSocket([{"type": "hello", "session_id": SESSION}, {"type": "message", "id": "m-00000001", "text": "hi"}])
    serve(channel, socket, broken)
    assert "something went wrong" in socket.of_type("notice")[0]["text"]
    assert socket.of_type("typing")[-1] == {"type": "typing", "on": False}
    assert channel.connections == {} and channel.in_flight == set()
