"""Rasa's Slack channel, configured from Lantern's settings and hardened.

Same URL as Rasa's `slack` channel (/webhooks/slack/webhook). What changes, and why:
- no credentials in credentials.yml: the token and signing secret come from the
  environment; without them the channel is off and the webhook answers 404;
- a bad signature or stale timestamp gets a 401 with a reason (Rasa's check, reused);
- an event is handled at most once, whatever Slack's retry reason and across restarts
  (Rasa skips only `http_timeout` retries, and only within one process);
- button clicks and mentions work, with >5 buttons kept as text lines;
- malformed requests get a 4xx instead of a 500;
- with LANTERN_SALES_CHANNEL set, the reps' side of a live handoff (clicks on the brief's
  buttons, replies in its thread) goes to `bot/channels/handoff_relay.py`.
- request limits: bodies over LANTERN_MAX_BODY_BYTES get a 413, one address or one Slack
  conversation over its rate a 429 with Retry-After (bot/security/rate_limit.py).
Reading Slack's requests and shaping replies is in `bot/channels/slack_events.py`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.handoff_relay import HandoffRelay
from bot.channels.inbound import BadRequest, check_message
from bot.channels.slack_events import (
    Challenge,
    HandoffClick,
    Ignored,
    SlackMessage,
    ThreadReply,
    button_message,
    read_event,
    read_interaction,
    to_mrkdwn,
)
from bot.db import record_slack_event_once
from bot.rasa_integration.channels import SlackInputBase, SlackOutput
from bot.rasa_integration.sentence_featurizer import embedding_first
from bot.rasa_integration.tracker_store import on_events_saved
from bot.security.rate_limit import client_address, limits_from
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

OFF_MESSAGE = "Slack channel off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on (docs/slack.md)"


class LanternSlackBot(SlackOutput):
    """Rasa's Slack output channel, posting through Lantern's Slack API URL."""

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        # One Slack message per reply: Rasa posts every paragraph separately, which
        # splits an article card and runs into Slack's one-message-a-second rate limit.
        await self.post(recipient_id, text=to_mrkdwn(text))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.post(recipient_id, **button_message(text, buttons))


class LanternSlackInput(SlackInputBase):
    """Slack events and button clicks in, replies out through `LanternSlackBot`."""

    @classmethod
    def name(cls) -> Text:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        settings = get_settings()
        if not settings.slack_enabled:
            logger.info(OFF_MESSAGE)
        return cls(settings)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.relay: Optional[HandoffRelay] = None
        if settings.live_handoff_enabled:
            self.relay = HandoffRelay(settings)
            self.relay.slack_output = self.get_output_channel
        super().__init__(
            settings.slack_bot_token or "", slack_signing_secret=settings.slack_signing_secret or ""
        )

    def get_output_channel(
        self, channel: Optional[Text] = None, thread_id: Optional[Text] = None
    ) -> OutputChannel:
        return LanternSlackBot(
            self.settings.slack_bot_token or "", channel or "", thread_id, self.settings.slack_api_url
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack_webhook = Blueprint("slack_webhook", __name__)
        on_new_message = embedding_first(on_new_message)  # bot/rasa_integration/sentence_featurizer.py
        relay = self.relay
        if relay is not None:
            on_events_saved(relay.on_events_saved)

            @slack_webhook.listener("after_server_start")
            async def start_relay(app: Any, _: Any) -> None:
                relay.agent = app.ctx.agent
                relay.in_background(relay.watch_timeouts(min(1.0, self.settings.handoff_wait_seconds / 3)))
        limits = limits_from(self.settings)

        def too_many(wait: int, what: str) -> HTTPResponse:
            # X-Slack-No-Retry: a retry would only be limited again.
            return response.json({"error": f"too many requests {what}; try again in {wait} s"}, status=429,
                                 headers={"Retry-After": str(wait), "X-Slack-No-Retry": "1"})

        @slack_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.settings.slack_enabled:
                return response.json({"error": OFF_MESSAGE}, status=404)
            if len(request.body or b"") > self.settings.max_body_bytes:
                return response.json({"error": f"request body is larger than {self.settings.max_body_bytes:,} bytes"},
                                     status=413)
            wait = limits.client(client_address(request))
            if wait is not None:
                return too_many(wait, "from this address")
            # Rasa's check: HMAC-SHA256 compared in constant time, timestamps more than
            # five minutes off either way refused (tests/e2e/test_slack.py holds it to that).
            if not self.is_request_from_slack_authentic(request):
                return response.json(
                    {"error": "not signed by Slack: missing or bad X-Slack-Signature, or a stale timestamp"},
                    status=401,
                )
            try:
                if "x-www-form-urlencoded" in request.headers.get("content-type", ""):
                    incoming = read_interaction(request.body)
                else:
                    incoming = read_event(request.body, self.settings.sales_channel)
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            if isinstance(incoming, Challenge):
                return response.json({"challenge": incoming.value})
            if isinstance(incoming, Ignored):
                return response.json({"ok": True, "ignored": incoming.reason})
            if isinstance(incoming, HandoffClick):
                if relay is None:
                    return response.json({"ok": True, "ignored": "live handoff is off (LANTERN_SALES_CHANNEL)"})
                if incoming.channel != self.settings.sales_channel:
                    return response.json({"ok": True, "ignored": "handoff buttons count only in the sales channel"})
                relay.agent = relay.agent or request.app.ctx.agent
                relay.in_background(relay.on_click(incoming))
                return response.json({"ok": True})
            if not isinstance(incoming, ThreadReply):  # a rep's reply is not a visitor's message
                wait = limits.conversation("slack\n" + incoming.conversation_id)
                if wait is not None:
                    return too_many(wait, "in this conversation")
            if incoming.event_id:
                try:
                    first = await self._first_receipt(incoming.event_id)
                except SQLAlchemyError:
                    logger.exception("could not record Slack event %s", incoming.event_id)
                    return response.json({"error": "could not record the event; Slack will send it again"}, status=503)
                if not first:
                    return response.json(
                        {"ok": True, "ignored": "event already received"}, headers={"X-Slack-No-Retry": "1"}
                    )
            # Slack wants an answer within 3 s or it retries: reply now, talk afterwards.
            if isinstance(incoming, ThreadReply):
                if relay is not None:
                    relay.agent = relay.agent or request.app.ctx.agent
                    relay.in_background(relay.on_thread_reply(incoming))
                return response.json({"ok": True})
            self.run_in_background(self._answer(incoming, on_new_message))
            return response.json({"ok": True})

        return slack_webhook

    async def _first_receipt(self, event_id: str) -> bool:
        # Off the event loop: on PostgreSQL the insert is a network round trip.
        return await asyncio.to_thread(record_slack_event_once, self.settings.db_url, event_id)

    async def _answer(self, message: SlackMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        output = self.get_output_channel(message.channel, message.thread_ts)
        checked = check_message(message.text, self.settings.max_message_chars)
        try:
            if checked.text is None:
                await output.send_text_message(message.channel, checked.reply or "")
                return
            await on_new_message(
                UserMessage(
                    checked.text,
                    output,
                    message.conversation_id,
                    input_channel=self.name(),
                    metadata={"slack_user": message.user, "slack_channel": message.channel},
                )
            )
        except Exception:  # a failed turn must not take the channel down
            logger.exception("Slack message for %s could not be answered", message.conversation_id)
