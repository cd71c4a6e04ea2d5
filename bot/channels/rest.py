"""Rasa's REST channel with Lantern's input checks in front of it.

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
from bot.settings import get_settings


class LanternRestInput(CheckedRestInput):
    """Same URL and JSON as Rasa's `rest` channel; refuses bad input clearly instead of failing."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        blueprint = super().blueprint(embedding_first(on_new_message))
        settings = get_settings()
        max_chars = settings.max_message_chars

        @blueprint.middleware("request")
        async def check_input(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            try:
                body = parse_rest_body(request.body or b"")
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
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
