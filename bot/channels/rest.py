"""Rasa's REST channel with Lantern's input checks in front of it."""

from __future__ import annotations

from typing import Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot import rasa_patches
from bot.inbound import BadRequest, check_message, parse_rest_body
from bot.sentence_featurizer import embedding_first
from bot.settings import get_settings

# Rasa imports this module at start-up (credentials.yml), which makes it the place to
# apply the measured Rasa speed-up (bot/rasa_patches.py).
rasa_patches.apply()


class LanternRestInput(RestInput):
    """Same URL and JSON as Rasa's `rest` channel; refuses bad input clearly instead of failing."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def _extract_message(self, req: Request) -> Optional[Text]:
        return req.ctx.lantern_text

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        return req.ctx.lantern_body["sender"]

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()  # a client must not pose as another channel

    def get_metadata(self, request: Request):  # type: ignore[no-untyped-def]
        return request.ctx.lantern_body.get("metadata")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        blueprint = super().blueprint(embedding_first(on_new_message))
        max_chars = get_settings().max_message_chars

        @blueprint.middleware("request")
        async def check_input(request: Request):  # type: ignore[no-untyped-def]
            if request.method != "POST":
                return None
            try:
                body = parse_rest_body(request.body or b"")
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            checked = check_message(body["message"], max_chars)
            if checked.reply is not None:
                return response.json([{"recipient_id": body["sender"], "text": checked.reply}])
            request.ctx.lantern_body = body
            request.ctx.lantern_text = checked.text
            return None

        @blueprint.listener("after_server_stop")
        async def close_sessions(*_: object) -> None:
            await rasa_patches.close_kept_sessions()

        return blueprint
