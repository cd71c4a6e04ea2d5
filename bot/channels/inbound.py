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


def parse_rest_body(body: bytes) -> dict[str, Any]:
    """Parse and check a REST-channel request body: {"sender": str, "message": str, ...}."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise BadRequest("request body is not UTF-8") from error
    except json.JSONDecodeError as error:
        raise BadRequest(f"request body is not valid JSON: {error.msg} at position {error.pos}") from error
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object with `sender` and `message`")
    sender = data.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest("`sender` must be a non-empty string identifying the conversation")
    if len(sender) > MAX_SENDER_CHARS or _UNPRINTABLE.search(sender):
        raise BadRequest(f"`sender` must be printable and at most {MAX_SENDER_CHARS} characters")
    message = data.get("message")
    if not isinstance(message, str):
        raise BadRequest("`message` must be a string")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("`metadata` must be a JSON object when given")
    return data
