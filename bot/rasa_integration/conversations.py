"""Adding events to a conversation from outside a visitor's turn (a rep's reply, "Lantern is
back"), inside the Rasa server, the way Rasa's HTTP API does it: under the conversation's
lock, through the processor, so the save hooks (the widget's push) run as for any turn.

Uses `app.ctx.agent` (set by Rasa before the server starts), `agent.lock_store.lock`,
`processor.get_tracker` and `processor.save_tracker` of Rasa 3.6.21.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed, Event
from rasa.shared.core.trackers import DialogueStateTracker


def bot_message(text: str, metadata: Optional[dict[str, Any]] = None) -> Event:
    """A message to the visitor, stored like the bot's own (BotUttered) with `metadata`."""
    return BotUttered(text, data={}, metadata=metadata or {})


def resumed() -> list[Event]:
    """Rasa's "the bot may answer again" (after ConversationPaused).

    Preceded by `action_listen`: the action that paused the conversation was the last one
    run, and Rasa's policies (rules above all) expect the next message after a listen, as
    in every other turn; without it they predict nothing for the visitor's next message.
    """
    return [ActionExecuted("action_listen"), ConversationResumed()]


async def append_to_conversation(agent: Any, conversation_id: str, events: Iterable[Event]) -> DialogueStateTracker:
    """Apply `events` to the stored conversation and save it; returns the saved tracker."""
    async with agent.lock_store.lock(conversation_id):
        tracker: DialogueStateTracker = await agent.processor.get_tracker(conversation_id)
        for event in events:
            tracker.update(event)
        await agent.processor.save_tracker(tracker)
        return tracker


def paused_since(tracker: DialogueStateTracker) -> Optional[int]:
    """The position of the event that paused the conversation, if it is paused now."""
    if not tracker.is_paused():
        return None
    for position in range(len(tracker.events) - 1, -1, -1):
        if tracker.events[position].type_name == "pause":
            return position
    return None
