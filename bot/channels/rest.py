"""Rasa's REST channel with Lantern's input checks and request limits in front of it.

Refused, each with a clear 4xx and a reason: anything but `application/json` (415: a page
elsewhere cannot post cross-site without a CORS preflight), bodies over
LANTERN_MAX_BODY_BYTES (413), malformed, too deep or not-Unicode JSON, metadata Lantern
does not define, senders that name another channel's conversation (400), and clients or
conversations over their rate (429 with Retry-After).

REST has no push: what reached the conversation between two of the visitor's messages from
outside a turn (a rep's replies during a live handoff, "Lantern is back") comes first in
the answer to the next message, marked with the rep's name (`docs/handoff.md`).
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.inbound import BadRequest, check_message, parse_rest_body
from bot.handoff.live_messages import NOTICE_KEY, REP_KEY
from bot.rasa_integration.channels import CheckedRestInput, accept_checked, tracker_store_of
from bot.rasa_integration.patches import close_kept_sessions
from bot.rasa_integration.sentence_featurizer import embedding_first
from bot.security.rate_limit import client_address, limits_from
from bot.settings import get_settings

# Sanic reads no more than this of any request to the Rasa server (its own 413 past it).
SERVER_MAX_REQUEST_BYTES = 1_048_576


def too_many(retry_after: int, what: str, limit: str) -> HTTPResponse:
    """A 429 that says when to send the same message again, and which limit (`client` or
    `conversation`) it hit, so a client that plays many conversations holds back the right ones."""
    return response.json(
        {"error": f"too many messages {what}; try again in {retry_after} s", "limit": limit},
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


class LanternRestInput(CheckedRestInput):
    """Same URL and JSON as Rasa's `rest` channel; refuses bad input clearly instead of failing."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        blueprint = super().blueprint(embedding_first(on_new_message))
        settings = get_settings()
        max_chars = settings.max_message_chars
        limits = limits_from(settings)

        @blueprint.listener("before_server_start")
        async def bound_requests(app: object, _: object) -> None:
            config = getattr(app, "config")
            config.REQUEST_MAX_SIZE = min(config.REQUEST_MAX_SIZE, SERVER_MAX_REQUEST_BYTES)

        @blueprint.middleware("request")
        async def check_input(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if content_type != "application/json":
                return response.json({"error": "send the message as JSON with Content-Type: application/json"}, status=415)
            if len(request.body or b"") > settings.max_body_bytes:
                return response.json({"error": f"request body is larger than {settings.max_body_bytes:,} bytes"}, status=413)
            wait = limits.client(client_address(request))
            if wait is not None:
                return too_many(wait, "from this address", "client")
            try:
                body = parse_rest_body(request.body or b"")
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            wait = limits.conversation("rest\n" + body["sender"])
            if wait is not None:
                return too_many(wait, "in this conversation", "conversation")
            checked = check_message(body["message"], max_chars)
            if checked.reply is not None:
                return response.json([{"recipient_id": body["sender"], "text": checked.reply}])
            accept_checked(request, body, checked.text)
            return None

        if settings.live_handoff_enabled:

            @blueprint.middleware("response")
            async def add_messages_from_outside_the_turn(request: Request, answer: HTTPResponse) -> Optional[HTTPResponse]:
                body = getattr(request.ctx, "lantern_body", None)
                if request.method != "POST" or answer.status != 200 or body is None:
                    return None
                tracker = await tracker_store_of(request).retrieve(body["sender"])
                earlier = between_last_two_user_messages(tracker.events if tracker else [])
                if not earlier:
                    return None
                replies = json.loads(answer.body or b"[]")
                return response.json([{"recipient_id": body["sender"], **m} for m in earlier] + replies)

        @blueprint.listener("after_server_stop")
        async def close_sessions(*_: object) -> None:
            await close_kept_sessions()  # the action server connections `apply()` keeps open

        return blueprint


def between_last_two_user_messages(events: Any) -> list[dict[str, Any]]:
    """The live-handoff messages (a rep's, or about who is talking) since the visitor's previous message."""
    found: list[dict[str, Any]] = []
    seen_latest = False
    for event in reversed(list(events)):
        if event.type_name == "user":
            if seen_latest:
                break
            seen_latest = True
            continue
        metadata = getattr(event, "metadata", None) or {}
        if seen_latest and event.type_name == "bot" and (REP_KEY in metadata or NOTICE_KEY in metadata):
            rep = metadata.get(REP_KEY) if not metadata.get(NOTICE_KEY) else None
            found.append({"text": event.text, **({"rep": rep["name"]} if isinstance(rep, dict) else {})})
    return list(reversed(found))
