"""Rasa's REST channel with Lantern's input checks in front of it."""

from __future__ import annotations

from typing import Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.inbound import BadRequest, check_message, parse_rest_body
from bot.rasa_integration.channels import CheckedRestInput, accept_checked
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
        max_chars = get_settings().max_message_chars

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

        @blueprint.listener("after_server_stop")
        async def close_sessions(*_: object) -> None:
            await close_kept_sessions()  # the action server connections `apply()` keeps open

        return blueprint
