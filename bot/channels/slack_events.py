"""Slack's side of a conversation, without Rasa.

What a request from Slack asks of Lantern (an event, a button click, a URL check), how
Lantern's replies look in Slack. The receipts that make Slack's retries harmless are
stored by `bot.db.record_slack_event_once`.
`bot/channels/slack.py` is the thin Rasa adapter around this module; the signature
check stays there because Rasa's own check is reused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Union
from urllib.parse import parse_qs

from bot.channels.inbound import BadRequest, load_json
from bot.handoff.live_messages import ACTIONS as HANDOFF_ACTIONS

# The limit (and Rasa's): more than five choices read badly in a chat.
MAX_BUTTONS = 5
# Slack's own limits (Block Kit reference); longer values make chat.postMessage fail.
BUTTON_TITLE_CHARS = 75
BUTTON_VALUE_CHARS = 2000
SECTION_TEXT_CHARS = 3000

# Slack wraps mentions, channels and links in angle brackets: <@U123>, <#C1|general>,
# <https://x.example|x.example>, <mailto:a@b.example|a@b.example>.
_SLACK_MARKUP = re.compile(r"<([^<>]*)>")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class Challenge:
    """Slack checking the request URL (`url_verification`): answer with `value`."""

    value: str


@dataclass(frozen=True)
class Ignored:
    """A request that needs no reply; answered 200 so that Slack does not retry it."""

    reason: str


@dataclass(frozen=True)
class SlackMessage:
    """What a Slack user said (or the button they clicked), ready for the assistant."""

    text: str
    conversation_id: str
    channel: str
    thread_ts: Optional[str]  # reply in this thread; None replies in the channel itself
    user: str
    event_id: Optional[str] = None  # set for events; Slack never retries button clicks


@dataclass(frozen=True)
class HandoffClick:
    """A rep's click on a live-handoff button in the sales channel (take, hand back, close)."""

    action: str  # one of bot.handoff.live_messages.ACTIONS
    handoff_id: int
    user: str
    channel: str


@dataclass(frozen=True)
class ThreadReply:
    """Someone writing in a thread of the sales channel: a rep talking to a visitor, or a note."""

    text: str
    user: str
    channel: str
    thread_ts: str
    event_id: str


SlackRequest = Union[Challenge, Ignored, SlackMessage, HandoffClick, ThreadReply]


def dm_conversation_id(user: str) -> str:
    """A direct message is one person talking to the app, like a visitor on the website,
    so it is one conversation per user, whichever DM thread they write in."""
    return f"slack:{user}"


def thread_conversation_id(user: str, channel: str, thread_ts: str) -> str:
    """In a channel, each thread is its own topic and several people may join it, so a
    conversation is one user in one thread: a new mention at the top starts afresh, and
    one person's discovery answers never mix with another's."""
    return f"slack:{user}:{channel}:{thread_ts}"


def read_event(body: bytes, sales_channel: Optional[str] = None) -> SlackRequest:
    """Read an Events API request body (JSON). Raises `BadRequest` when it is malformed.

    In `sales_channel`, thread replies are the reps' side of live handoffs.
    """
    envelope = _json_object(body, "request body")
    kind = envelope.get("type")
    if kind == "url_verification":
        challenge = envelope.get("challenge")
        if not isinstance(challenge, str):
            raise BadRequest("url_verification without a `challenge` string")
        return Challenge(challenge)
    if kind != "event_callback":
        return Ignored(f"request type {kind!r} is not handled")
    event_id = envelope.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise BadRequest("event_callback without an `event_id` string")
    event = envelope.get("event")
    if not isinstance(event, dict):
        raise BadRequest("event_callback without an `event` object")
    return _read_user_event(event, event_id, _bot_user_ids(envelope), sales_channel)


def read_interaction(body: bytes) -> SlackRequest:
    """Read an interactivity request (form field `payload=` holding JSON): a button click.

    The conversation and thread are those of the message that carried the button, so
    the click continues the conversation that showed it.
    """
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(f"form body is not valid: {error}") from error
    if not fields.get("payload"):
        raise BadRequest("form body without a `payload` field")
    payload = _json_object(fields["payload"][0], "`payload`")
    kind = payload.get("type")
    if kind != "block_actions":
        return Ignored(f"interaction type {kind!r} is not handled")
    handoff = _handoff_click(payload)
    if handoff is not None:
        return handoff
    value = _first_button_value(payload.get("actions"))
    if value is None:
        return Ignored("no button value in the actions (link buttons carry none)")
    user = _required_str(_object(payload, "user"), "id")
    channel = _required_str(_object(payload, "channel"), "id")
    raw_message = payload.get("message")
    message: dict[str, Any] = raw_message if isinstance(raw_message, dict) else {}
    thread_ts = _optional_str(message, "thread_ts")
    if _is_direct_message_channel(channel):
        return SlackMessage(value, dm_conversation_id(user), channel, thread_ts, user)
    thread_ts = thread_ts or _required_str(message, "ts")
    return SlackMessage(value, thread_conversation_id(user, channel, thread_ts), channel, thread_ts, user)


def to_plain_text(text: str, bot_user_ids: frozenset[str]) -> str:
    """Slack's markup back to what the user typed, without mentions of the app itself.

    Links and e-mail addresses must come out bare: an address typed in Slack arrives as
    `<mailto:a@b.example|a@b.example>`, and the lead form has to read `a@b.example`.
    """

    def unwrap(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "" if target[1:] in bot_user_ids else f"@{label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):  # <!here>, <!channel>
            return f"@{label or target[1:]}"
        return label or target.removeprefix("mailto:")

    plain = _SLACK_MARKUP.sub(unwrap, text)
    # Slack escapes exactly these three; &amp; goes last so "&amp;lt;" stays "&lt;".
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", plain).strip()


def to_mrkdwn(text: str) -> str:
    """Lantern's reply text in Slack's mrkdwn: escaped, with **bold** as Slack's *bold*.

    Bare URLs need nothing: Slack links them itself.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BOLD.sub(r"*\1*", escaped)


def button_message(text: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    """`chat.postMessage` arguments for a reply with buttons (a Block Kit `actions` block).

    At most `MAX_BUTTONS` become buttons; the rest are listed as lines the user can type,
    so no choice is lost (Rasa drops every button when there are more than five).
    """
    shown, rest = buttons[:MAX_BUTTONS], buttons[MAX_BUTTONS:]
    body = to_mrkdwn(text)
    if rest:
        body += "\nYou can also reply with:\n" + "\n".join(f"• {to_mrkdwn(_title(b))}" for b in rest)
    elements = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": _clip(_title(button), BUTTON_TITLE_CHARS)},
            "value": str(button.get("payload", ""))[:BUTTON_VALUE_CHARS],
            "action_id": f"lantern-button-{position}",  # Slack wants them unique per message
        }
        for position, button in enumerate(shown)
    ]
    blocks: list[dict[str, Any]] = []
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(body, SECTION_TEXT_CHARS)}})
    if elements:
        blocks.append({"type": "actions", "elements": elements})
    # `text` is what notifications and screen readers show; blocks are what the chat shows.
    return {"text": body, "blocks": blocks}


def _read_user_event(
    event: dict[str, Any], event_id: str, bot_user_ids: frozenset[str], sales_channel: Optional[str] = None
) -> SlackRequest:
    kind = event.get("type")
    if kind not in ("message", "app_mention"):
        return Ignored(f"event type {kind!r} is not handled")
    # The app's own posts come back as events too; answering them would loop forever.
    if event.get("bot_id") or event.get("subtype"):
        return Ignored("bot messages, edits and other message subtypes get no reply")
    direct = event.get("channel_type") == "im"
    if sales_channel and not direct and event.get("channel") == sales_channel and _optional_str(event, "thread_ts"):
        if kind == "app_mention":  # Slack sends the same reply as a `message` event too
            return Ignored("a mention in a sales-channel thread arrives as its message event")
        user = _required_str(event, "user")
        if user in bot_user_ids:
            return Ignored("the app's own message")
        raw = event.get("text")
        text = to_plain_text(raw if isinstance(raw, str) else "", bot_user_ids)
        return ThreadReply(text, user, sales_channel, _required_str(event, "thread_ts"), event_id)
    if kind == "message" and not direct:
        return Ignored("in channels Lantern answers only when mentioned")
    user = _required_str(event, "user")
    if user in bot_user_ids:
        return Ignored("the app's own message")
    channel = _required_str(event, "channel")
    ts = _required_str(event, "ts")
    raw_text = event.get("text")
    text = to_plain_text(raw_text if isinstance(raw_text, str) else "", bot_user_ids)
    thread_ts = _optional_str(event, "thread_ts")
    if direct:
        # In a DM the reply goes where the user wrote: the DM itself, or the thread they
        # chose. Forcing threads there would hide each answer behind "1 reply".
        return SlackMessage(text, dm_conversation_id(user), channel, thread_ts, user, event_id)
    thread_ts = thread_ts or ts
    return SlackMessage(text, thread_conversation_id(user, channel, thread_ts), channel, thread_ts, user, event_id)


def _bot_user_ids(envelope: dict[str, Any]) -> frozenset[str]:
    """The app's own user ids, from `authorizations` (current) and `authed_users` (older)."""
    ids = set()
    authorizations = envelope.get("authorizations")
    for authorization in authorizations if isinstance(authorizations, list) else []:
        if isinstance(authorization, dict) and isinstance(authorization.get("user_id"), str):
            ids.add(authorization["user_id"])
    authed_users = envelope.get("authed_users")
    ids.update(u for u in (authed_users if isinstance(authed_users, list) else []) if isinstance(u, str))
    return frozenset(ids)


def _handoff_click(payload: dict[str, Any]) -> Optional[HandoffClick]:
    actions = payload.get("actions")
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    action = first.get("action_id")
    if action not in HANDOFF_ACTIONS:
        return None
    value = first.get("value")
    if not isinstance(value, str) or not value.isdigit():
        raise BadRequest("a handoff button's `value` must be the handoff's number")
    user = _required_str(_object(payload, "user"), "id")
    channel = _required_str(_object(payload, "channel"), "id")
    return HandoffClick(str(action), int(value), user, channel)


def _first_button_value(actions: Any) -> Optional[str]:
    for action in actions if isinstance(actions, list) else []:
        if isinstance(action, dict) and action.get("type") == "button" and isinstance(action.get("value"), str):
            return action["value"]
    return None


def _is_direct_message_channel(channel_id: str) -> bool:
    # Interaction payloads carry no channel_type; Slack's DM channel ids start with "D".
    return channel_id.startswith("D")


def _title(button: dict[str, Any]) -> str:
    return str(button.get("title") or button.get("payload") or "?")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


SLACK_MAX_JSON_DEPTH = 32  # Slack's own payloads (blocks in messages) stay well under it


def _json_object(raw: Union[str, bytes], what: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise BadRequest(f"{what} is not UTF-8") from error
    data = load_json(text, what, max_depth=SLACK_MAX_JSON_DEPTH)  # depth, surrogates: a 400, not a 500
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return data


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise BadRequest(f"`{key}` must be an object")
    return value


def _required_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"`{key}` must be a non-empty string")
    return value


def _optional_str(data: dict[str, Any], key: str) -> Optional[str]:
    value = data.get(key)
    return value if isinstance(value, str) and value else None
