"""What a live handoff says, on both sides: the reps' Slack messages (Block Kit) and the
lines the visitor sees when a person joins, leaves, or never comes.

Plain functions of plain values, so both sides' wording is tested and kept in one place.
"""

from __future__ import annotations

from typing import Any, Optional

TAKE = "lantern-handoff-take"
HAND_BACK = "lantern-handoff-back"
CLOSE = "lantern-handoff-close"
ACTIONS = (TAKE, HAND_BACK, CLOSE)
NOTE_PREFIX = "note:"

# Metadata keys of the bot events a live handoff adds to the tracker.
REP_KEY = "lantern_rep"  # {"id": Slack user id, "name": display name} on a rep's message
NOTICE_KEY = "lantern_handoff"  # "waiting" | "joined" | "back" | "closed" | "timed_out"

THREAD_INTRO = (
    "Once you take this conversation, everything you write in this thread goes to the visitor, "
    "under your Slack display name. Start a message with `note:` for an internal note: "
    "the visitor never sees it. The visitor's messages appear here as they type them."
)


def duration(seconds: int) -> str:
    """A wait as people say it: "3 minutes", "1 minute", "45 seconds"."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def is_note(text: str) -> bool:
    """An internal note in the thread: never relayed to the visitor."""
    return text.lstrip().lower().startswith(NOTE_PREFIX)


def _button(text: str, action_id: str, handoff_id: int, style: Optional[str] = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": str(handoff_id),
    }
    if style:
        button["style"] = style
    return button


def _with_status(brief: dict[str, Any], status: str, elements: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    """The lead's brief with a status line (and buttons) under it, as chat.postMessage/update arguments."""
    blocks = [b for b in brief.get("blocks", []) if b.get("block_id") not in ("lantern-status", "lantern-actions")]
    blocks.append({"type": "section", "block_id": "lantern-status", "text": {"type": "mrkdwn", "text": status}})
    if elements:
        blocks.append({"type": "actions", "block_id": "lantern-actions", "elements": elements})
    return {"text": f"{status} {brief.get('text', '')}".strip(), "blocks": blocks}


def waiting_for_rep(handoff_id: int, brief: dict[str, Any], visitor_channel: str, wait: str) -> dict[str, Any]:
    status = (
        f":speech_balloon: *The visitor is waiting to chat now* (on {visitor_channel}). "
        f"If nobody takes it within {wait}, they are told so and offered email."
    )
    return _with_status(brief, status, [_button("Take this conversation", TAKE, handoff_id, "primary")])


def taken(brief: dict[str, Any], rep_name: str) -> dict[str, Any]:
    return _with_status(brief, f":white_check_mark: *{rep_name} took this conversation.*")


def ended(brief: dict[str, Any], how: str) -> dict[str, Any]:
    return _with_status(brief, how)


def rep_controls(handoff_id: int, rep_name: str) -> dict[str, Any]:
    """The thread message that tells who has it, with the buttons that end it."""
    text = (
        f"{rep_name} has the conversation: what you write here reaches the visitor as {rep_name}; "
        "`note: ...` stays internal."
    )
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "elements": [
                _button("Hand back to Lantern", HAND_BACK, handoff_id, "primary"),
                _button("Close", CLOSE, handoff_id, "danger"),
            ]},
        ],
    }


def visitor_said(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"*Visitor:* {escaped}"


def already_taken(rep_name: Optional[str], state: str) -> str:
    if rep_name and state == "with_rep":
        return f"{rep_name} already took this conversation."
    if rep_name:
        return f"{rep_name} took this conversation earlier; it has ended."
    return "Too late to take this one: nobody took it in time and the visitor was offered email instead."


def timeout_ping(wait: str, email: Optional[str]) -> str:
    follow = f" Please follow up by email ({email})." if email else " Please follow up from the lead."
    return f"<!here> Nobody took this conversation within {wait}; the visitor was told.{follow}"


# The visitor's side.


def joined(rep_name: str, company: Optional[str]) -> str:
    where = f" from {company}" if company else ""
    return f"{rep_name}{where} joined. You're chatting with a person now."


def back_after_hand_back(rep_name: Optional[str]) -> str:
    return "Lantern is back. I have our conversation so far; ask me anything."


def back_after_close(rep_name: Optional[str]) -> str:
    who = rep_name or "The team"
    return f"{who} ended the chat. Lantern is back if you need anything else."


def nobody_came(email: Optional[str]) -> str:
    to = f" at {email}" if email else ""
    return (
        "I'm sorry: nobody from the team could join right now. "
        f"They have your details and our conversation and will email you{to}. "
        "Meanwhile, Lantern is back; ask me anything."
    )


def released() -> str:
    return "Lantern is back. I have our conversation so far; ask me anything."
