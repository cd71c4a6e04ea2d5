"""Checks on what a visitor sends, before it reaches the assistant.

Plain functions, no Rasa: channels call `check_message` and either pass the cleaned
text on or answer with the refusal it gives.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

MAX_SENDER_CHARS = 200
MAX_JSON_DEPTH = 16
MAX_METADATA_BYTES = 2048
# The only metadata a REST client may send: what Lantern itself reads. `lantern_*` keys
# (what the widget shows in place of a message) are Lantern's own and never a client's.
REST_METADATA_KEYS = frozenset({"page_url", "language"})
MAX_METADATA_VALUE_CHARS = 500
# A sender the REST channel may never use: another channel's conversations (bot/security/signing.py
# for the widget's `w-`; Slack's ids come from bot/channels/slack_events.py).
RESERVED_SENDER_PREFIXES = ("w-", "slack:")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Control characters (except tab and newline) and lone surrogates break storage or display.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class Checked:
    """Outcome of a check: `text` to pass on, or `reply` to send back instead."""

    text: Optional[str] = None
    reply: Optional[str] = None


class BadRequest(ValueError):
    """The request itself is malformed (HTTP 400); the message says why."""


def clean_text(text: str) -> str:
    return _UNPRINTABLE.sub("", text).strip()


def check_message(text: str, max_chars: int) -> Checked:
    """Clean `text`; refuse empty or over-long messages with a reply that says why."""
    cleaned = clean_text(text)
    if not cleaned:
        return Checked(reply="I didn't get any text there. What are you trying to solve? Tell me in a sentence or two.")
    if len(cleaned) > max_chars:
        return Checked(
            reply=(
                f"That message is {len(cleaned):,} characters long, and I can only read up to "
                f"{max_chars:,} at a time. Could you sum up the problem in a few sentences?"
            )
        )
    return Checked(text=cleaned)


def load_json(raw: str, what: str = "request body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON text, refusing (BadRequest) nesting deeper than `max_depth` and lone surrogates.

    The depth is counted on the text before parsing, so a 100,000-deep array never
    reaches the parser's recursion; a lone surrogate (a `\\ud800` escape) would be stored
    and then break every later read of the conversation.
    """
    if _too_deep(raw, max_depth):
        raise BadRequest(f"{what} is nested more than {max_depth} levels deep")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadRequest(f"{what} is not valid JSON: {error.msg} at position {error.pos}") from error
    except RecursionError as error:  # belt and braces: the depth check should have caught it
        raise BadRequest(f"{what} is nested too deeply") from error
    if _has_surrogate(data):
        raise BadRequest(f"{what} contains an invalid Unicode character (a lone surrogate)")
    return data


def _too_deep(raw: str, max_depth: int) -> bool:
    depth = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _has_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def check_rest_metadata(metadata: Any) -> Optional[dict[str, str]]:
    """Only the keys Lantern defines, as short strings, at most MAX_METADATA_BYTES in all."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise BadRequest("`metadata` must be a JSON object when given")
    if len(json.dumps(metadata, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise BadRequest(f"`metadata` is larger than {MAX_METADATA_BYTES:,} bytes")
    unknown = sorted(set(metadata) - REST_METADATA_KEYS)
    if unknown:
        raise BadRequest(
            f"`metadata` may only carry {', '.join(sorted(REST_METADATA_KEYS))}; refused: {', '.join(unknown)[:200]}"
        )
    for key, value in metadata.items():
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_CHARS or _UNPRINTABLE.search(value):
            raise BadRequest(f"`metadata.{key}` must be printable text of at most {MAX_METADATA_VALUE_CHARS} characters")
    return dict(metadata) or None


def parse_rest_body(body: bytes) -> dict[str, Any]:
    """Parse and check a REST-channel request body: {"sender": str, "message": str, ...}."""
    try:
        data = load_json(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise BadRequest("request body is not UTF-8") from error
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object with `sender` and `message`")
    sender = data.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest("`sender` must be a non-empty string identifying the conversation")
    if len(sender) > MAX_SENDER_CHARS or _UNPRINTABLE.search(sender):
        raise BadRequest(f"`sender` must be printable and at most {MAX_SENDER_CHARS} characters")
    if sender.startswith(RESERVED_SENDER_PREFIXES):
        raise BadRequest(f"`sender` may not start with {' or '.join(RESERVED_SENDER_PREFIXES)}: those are other channels' conversations")
    message = data.get("message")
    if not isinstance(message, str):
        raise BadRequest("`message` must be a string")
    checked: dict[str, Any] = {"sender": sender, "message": message}
    metadata = check_rest_metadata(data.get("metadata"))
    if metadata:
        checked["metadata"] = metadata
    return checked
