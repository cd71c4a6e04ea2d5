"""What Lantern's channels (bot/channels/) need of Rasa's channel internals, named once.

Rasa 3.6.21's REST and Slack channels are extended through members Rasa does not document
as extension points; each is used here and nowhere else:

- `RestInput._extract_message`, `_extract_sender`, `_extract_input_channel` and
  `get_metadata`: `CheckedRestInput` takes them from what Lantern's input check stored on
  the request (`accept_checked`), instead of re-reading the body;
- `SlackBot._post_message` and `SlackBot.client`: `SlackOutput` posts one message per reply
  through a client on Lantern's Slack API URL;
- `SlackInput._validate_credentials` (Rasa refuses to start without a signing secret) and
  `SlackInput._background_tasks` (tasks kept alive until done): `SlackInputBase`;
- `request.app.ctx.agent.tracker_store`: where a channel finds the running agent's tracker
  store (`tracker_store_of`).
"""

from __future__ import annotations

from typing import Any, Coroutine, Dict, Optional, Text

from rasa.core.channels.rest import RestInput
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic.request import Request
from slack_sdk.web.async_client import AsyncWebClient


def accept_checked(request: Request, body: Dict[Text, Any], text: Optional[Text]) -> None:
    """Keep a checked REST body and its cleaned text for `CheckedRestInput` to hand to Rasa."""
    request.ctx.lantern_body = body
    request.ctx.lantern_text = text


class CheckedRestInput(RestInput):
    """Rasa's REST channel reading the message, sender and metadata `accept_checked` kept."""

    def _extract_message(self, req: Request) -> Optional[Text]:
        return req.ctx.lantern_text

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        return req.ctx.lantern_body["sender"]

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()  # a client must not pose as another channel

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return request.ctx.lantern_body.get("metadata")


class SlackOutput(SlackBot):
    """Rasa's Slack output channel, posting through `api_url` instead of slack.com."""

    def __init__(self, token: Text, channel: Text, thread_ts: Optional[Text], api_url: Text) -> None:
        super().__init__(token, channel, thread_ts)
        # Rasa's client always talks to slack.com; tests and proxies need another base URL.
        self.client = AsyncWebClient(token, base_url=api_url)

    async def post(self, recipient_id: Text, **message: Any) -> None:
        """Post one message (`chat.postMessage` arguments) to the channel or the recipient."""
        await self._post_message(self.slack_channel or recipient_id, **message)


class SlackInputBase(SlackInput):
    """Rasa's Slack input channel that may start without credentials and runs replies later."""

    def _validate_credentials(self) -> None:
        """Rasa refuses to start without a signing secret; Lantern starts with Slack off."""

    def run_in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` after the webhook has answered, kept alive until it is done."""
        import asyncio

        task = asyncio.create_task(work)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)


def tracker_store_of(request: Request) -> Any:
    """The tracker store of the agent serving `request` (Rasa keeps it on the app context)."""
    return request.app.ctx.agent.tracker_store
