"""The website widget's wire protocol, independent of Rasa.

The browser and the server exchange JSON text frames over one WebSocket:

    browser -> server
        {"type": "hello", "session_id": "...", "token": "...", "after": <seq>}
                    first frame; resume after <seq>. Without a session (or with one whose
                    token does not match), the server opens a new one and says so.
        {"type": "message", "id": "...", "text": "...", "display": "..."?, "hidden": bool?}
        {"type": "forget"}                                        delete this conversation

    server -> browser
        {"type": "session", "session_id": "...", "token": "..."} the conversation this tab holds
        {"type": "forgotten"}                                     the conversation was deleted
        {"type": "limited", "retry_after": <s>, "text": "..."}   slow down (nothing was stored)
        {"type": "messages", "messages": [<ChatMessage>, ...]}   conversation history, in order
                              a ChatMessage may carry "rep" (a person's name) or "notice"
        {"type": "typing", "on": bool}                            never on while a person has it
        {"type": "ack", "id": "..."}                              the message was handled
        {"type": "notice", "id": "...", "text": "..."}            not stored, e.g. "too long"
        {"type": "error", "reason": "..."}                        a frame was refused

Every message in a conversation has a sequence number: its position among the
conversation's user and bot messages in the tracker store. The server only ever sends
messages the browser has not acknowledged seeing (`after`), and the browser keeps
messages by number, so a reconnect neither loses nor repeats anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Optional, Union

from bot.channels.inbound import BadRequest, clean_text, load_json

# Browser-made ids: random UUIDs in practice. Bounded so they can't bloat the tracker.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_BUTTONS = 10
SAFE_URL = re.compile(r"^https?://[^\s<>\"']+$")


class BadFrame(ValueError):
    """A frame from the browser that the server refuses, with a reason for the browser."""


@dataclass(frozen=True)
class Hello:
    session_id: Optional[str] = None  # None: the tab has no conversation yet
    token: Optional[str] = None
    after: int = -1


@dataclass(frozen=True)
class Forget:
    """The visitor confirmed "delete this conversation"."""


@dataclass(frozen=True)
class VisitorMessage:
    id: str
    text: str
    display: Optional[str] = None  # what a button click shows instead of its payload
    hidden: bool = False  # e.g. the greeting request sent when the chat first opens


ClientFrame = Union[Hello, VisitorMessage, Forget]
MAX_FRAME_CHARS = 32_768
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def parse_client_frame(raw: Union[str, bytes]) -> ClientFrame:
    """Parse one frame from the browser, or raise `BadFrame` saying what is wrong."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadFrame("frames must be UTF-8 JSON text") from error
    if len(raw) > MAX_FRAME_CHARS:
        raise BadFrame(f"frame is longer than {MAX_FRAME_CHARS:,} characters")
    try:
        frame = load_json(raw, "frame", max_depth=4)
    except BadRequest as error:
        raise BadFrame(str(error)) from error
    if not isinstance(frame, dict):
        raise BadFrame("frame must be a JSON object")
    kind = frame.get("type")
    if kind == "hello":
        session_id = frame.get("session_id")
        session_id = None if session_id is None else _checked_id(session_id, "session_id")
        token = frame.get("token")
        if token is not None and (not isinstance(token, str) or not _TOKEN.match(token)):
            raise BadFrame("'token' must be the token the server gave with the session")
        after = frame.get("after", -1)
        if not isinstance(after, int) or isinstance(after, bool) or after < -1:
            raise BadFrame("'after' must be an integer >= -1")
        return Hello(session_id, token, after)
    if kind == "forget":
        return Forget()
    if kind == "message":
        message_id = _checked_id(frame.get("id"), "id")
        text = frame.get("text")
        if not isinstance(text, str):
            raise BadFrame("'text' must be a string")
        display = frame.get("display")
        if display is not None and not isinstance(display, str):
            raise BadFrame("'display' must be a string")
        display = clean_text(display)[:200] if display else None
        return VisitorMessage(message_id, text, display or None, frame.get("hidden") is True)
    raise BadFrame("'type' must be 'hello', 'message' or 'forget'")


def _checked_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise BadFrame(f"'{name}' must be 8-64 letters, digits, '-' or '_'")
    return value


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class ArticleCard:
    title: str
    summary: str
    url: str


@dataclass(frozen=True)
class ChatMessage:
    """One message as the widget shows it."""

    seq: int
    sender: str  # "visitor" or "bot"
    text: str
    id: Optional[str] = None  # the browser's id, for a visitor's message
    buttons: list[Button] = field(default_factory=list)
    card: Optional[ArticleCard] = None
    rep: Optional[str] = None  # a sales rep's display name: a person wrote this (live handoff)
    # Lantern saying who is talking now: "joined" (with `rep`), "back", "closed", "timed_out".
    notice: Optional[str] = None

    def to_frame(self) -> dict[str, Any]:
        frame = asdict(self)
        return {key: value for key, value in frame.items() if value not in (None, [])}


def messages_from_events(events: Iterable[Mapping[str, Any]]) -> list[ChatMessage]:
    """The widget's view of a conversation, from the tracker's events (as dicts).

    Numbers count every user and bot message, hidden ones included, so they never
    change once given out, whatever is shown.
    """
    messages: list[ChatMessage] = []
    seq = -1
    for event in events:
        kind = event.get("event")
        if kind not in ("user", "bot"):
            continue
        seq += 1
        if kind == "user":
            metadata = event.get("metadata") or {}
            if metadata.get("lantern_hidden"):
                continue
            display = metadata.get("lantern_display")
            text = display if isinstance(display, str) and display else (event.get("text") or "")
            messages.append(ChatMessage(seq, "visitor", _valid(text), id=event.get("message_id")))
        else:
            data = event.get("data") or {}
            metadata = event.get("metadata") or {}
            messages.append(
                ChatMessage(
                    seq,
                    "bot",
                    _valid(event.get("text") or ""),
                    buttons=_buttons(data.get("buttons")),
                    card=_card(data.get("custom")),
                    rep=_rep_name(metadata),
                    notice=_notice(metadata),
                )
            )
    return messages


def _rep_name(metadata: Mapping[str, Any]) -> Optional[str]:
    """The rep a message is from (a reply written in Slack) or about (a "joined" notice)."""
    rep = metadata.get("lantern_rep")
    if not isinstance(rep, dict):
        return None
    name = rep.get("name")
    return name[:80] if isinstance(name, str) and name else None


def _notice(metadata: Mapping[str, Any]) -> Optional[str]:
    notice = metadata.get("lantern_handoff")
    return notice if notice in ("joined", "back", "closed", "timed_out") else None


def _buttons(raw: Any) -> list[Button]:
    if not isinstance(raw, list):
        return []
    return [
        Button(str(b.get("title", "")), str(b.get("payload", "")))
        for b in raw[:MAX_BUTTONS]
        if isinstance(b, dict) and b.get("title") and b.get("payload")
    ]


def _card(raw: Any) -> Optional[ArticleCard]:
    """An article card from a response's `custom` data, if it is a well-formed one."""
    if not isinstance(raw, dict) or raw.get("type") != "article_card":
        return None
    title, summary, url = raw.get("title"), raw.get("summary"), raw.get("url")
    if not (isinstance(title, str) and isinstance(summary, str) and isinstance(url, str)):
        return None
    if not SAFE_URL.match(url):
        return None
    return ArticleCard(title, summary, url)


def _valid(text: str) -> str:
    """Text that encodes as UTF-8: a lone surrogate stored before it was refused at the door
    becomes "?" instead of breaking every later history load."""
    return text.encode("utf-8", "replace").decode("utf-8") if _SURROGATES.search(text) else text


_SURROGATES = re.compile("[\ud800-\udfff]")


def encode(kind: str, **fields: Any) -> str:
    # ASCII escapes: a frame always encodes, whatever is inside it.
    return json.dumps({"type": kind, **fields}, ensure_ascii=True)
