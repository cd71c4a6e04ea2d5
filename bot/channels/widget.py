"""The website widget's Rasa input channel: a plain WebSocket, no client library needed.

Routes, under /webhooks/widget:
    GET  /                    health check
    GET  /lantern.js          the widget script a site embeds with one <script> tag
    WS   /ws                  the conversation (protocol: bot/channels/widget_protocol.py)
    GET  /transcript/<token>  a rep's read-only transcript, opened by a signed, expiring token

A conversation belongs to the tab that holds its token: the server issues the session id
and a token signed for it, and history goes only to a hello that presents both
(bot/security/signing.py, docs/security.md).

Replies are not streamed from the output channel. They are read back from the tracker
store after it saves, numbered, and pushed to every open connection of that
conversation. So the tracker store is the one source of truth: a browser that
reconnects asks for what it hasn't seen, and messages added later through Rasa's HTTP
API (a rep's reply) reach an open widget the same way. With several Rasa servers, the
other servers' tabs are told through Redis (bot/channels/widget_fanout.py). Why a WebSocket
and not Rasa's Socket.IO channel: docs/widget.md.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from websockets.exceptions import ConnectionClosed

from bot.channels.inbound import check_message
from bot.channels.widget_fanout import WAIT_SECONDS, LocalFanout, fanout_for
from bot.channels.widget_protocol import (
    BadFrame,
    Forget,
    Hello,
    VisitorMessage,
    encode,
    messages_from_events,
    parse_client_frame,
)
from bot.privacy.forget import forget
from bot.rasa_integration.channels import tracker_store_of
from bot.rasa_integration.sentence_featurizer import embedding_first
from bot.rasa_integration.tracker_store import on_tracker_saved
from bot.security.headers import security_headers
from bot.security.rate_limit import ConnectionCap, client_address, limits_from
from bot.security.signing import new_widget_session, read_transcript_token, widget_token, widget_token_valid
from bot.settings import get_settings

logger = logging.getLogger(__name__)

WIDGET_SCRIPT = "web/widget/lantern.js"
SLOW_DOWN = "You're sending messages faster than I can read them. Give me {seconds} seconds, then send that again."


class WidgetOutput(OutputChannel):
    """Gives responses the channel name "widget" (for widget-only variations, such as
    article cards) and sends nothing itself: delivery follows the tracker save."""

    @classmethod
    def name(cls) -> Text:
        return "widget"

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        return None

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        return None


@dataclass(eq=False)
class Connection:
    """One open browser tab, and the last message number it has."""

    socket: Any
    session_id: str
    client: str = "unknown"
    last_seq: int = -1
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, frame: str) -> None:
        try:
            await self.socket.send(frame)
        except ConnectionClosed:
            pass  # the tab went away; it resumes from last_seq when it comes back


class WidgetInput(InputChannel):
    """WebSocket channel for the website widget, open only to the configured origins."""

    def __init__(self, settings: Optional[Any] = None) -> None:
        self.settings = settings or get_settings()
        self.connections: dict[str, set[Connection]] = {}
        # Tells the other Rasa servers' tabs, and holds the ids of messages being handled.
        self.fanout: LocalFanout = fanout_for(self.settings.redis_url)
        self.tracker_store: Any = None
        self.limits = limits_from(self.settings)
        self.connection_cap = ConnectionCap(self.settings.max_connections_per_client)

    @property
    def in_flight(self) -> set[str]:
        """Messages this process is handling now (shared ones are in Redis, see widget_fanout)."""
        return self.fanout.in_flight

    @classmethod
    def name(cls) -> Text:
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls()

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WidgetOutput()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        widget = Blueprint("lantern_widget", __name__)
        on_new_message = embedding_first(on_new_message)  # bot/rasa_integration/sentence_featurizer.py
        script_path = self.settings.home / WIDGET_SCRIPT
        allowed_origins = set(self.settings.allowed_origins)
        on_tracker_saved(self.push_new_messages)
        on_tracker_saved(self.fanout.publish)

        @widget.listener("after_server_start")
        async def start_fanout(*_: Any) -> None:
            await self.fanout.start(self.push_new_messages)

        @widget.listener("before_server_stop")
        async def stop_fanout(*_: Any) -> None:
            await self.fanout.stop()

        @widget.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @widget.listener("before_server_start")
        async def headers_on_every_response(app: Any, _: Any) -> None:
            headers = security_headers()

            async def add_headers(_: Request, reply: Any) -> None:
                if reply is not None and getattr(reply, "headers", None) is not None:
                    for name, value in headers.items():
                        reply.headers.setdefault(name, value)

            app.register_middleware(add_headers, "response")

        @widget.route("/lantern.js", methods=["GET"])
        async def script(_: Request) -> response.HTTPResponse:
            return response.raw(
                script_path.read_bytes(),
                content_type="application/javascript; charset=utf-8",
                headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
            )

        @widget.route("/transcript/<token:str>", methods=["GET"])
        async def transcript(request: Request, token: str) -> response.HTTPResponse:
            conversation_id = read_transcript_token(self.settings.signing_key, token)
            if conversation_id is None:
                return response.html("<p>This transcript link is not valid or has expired.</p>", status=404)
            tracker = await tracker_store_of(request).retrieve_full_tracker(conversation_id)
            events = [event.as_dict() for event in tracker.events] if tracker else []
            return response.html(
                transcript_page(conversation_id, messages_from_events(events)),
                headers={"Cache-Control": "no-store"},
            )

        @widget.middleware("request")
        async def check_origin(request: Request) -> Optional[response.HTTPResponse]:
            # Browsers always send Origin on a WebSocket handshake; refusing other sites
            # stops a page elsewhere from driving (or reading) a visitor's conversation.
            # Any spelling of the socket's path counts ("/ws/", "/ws//"), and any upgrade.
            is_socket = request.path.rstrip("/").endswith("/ws") or (
                request.headers.get("upgrade", "").lower() == "websocket"
            )
            if not is_socket:
                return None
            if request.headers.get("origin") not in allowed_origins:
                logger.info("widget connection refused: origin not allowed")
                return response.json({"error": "origin not allowed"}, status=403)
            if self.connection_cap.at_limit(client_address(request)):
                return response.json(
                    {"error": "too many open chat connections from this address"},
                    status=429,
                    headers={"Retry-After": "30"},
                )
            return None

        @widget.websocket("/ws")
        async def conversation(request: Request, socket: Any) -> None:
            self.tracker_store = tracker_store_of(request)
            client = client_address(request)
            if not self.connection_cap.open(client):
                await socket.close(code=1013, reason="too many connections")
                return
            try:
                await self.serve(socket, on_new_message, client)
            finally:
                self.connection_cap.close(client)

        return widget

    async def serve(
        self, socket: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]], client: str = "unknown"
    ) -> None:
        """Handle one browser connection until it closes."""
        connection: Optional[Connection] = None
        try:
            while True:
                raw = await socket.recv()
                if raw is None:
                    return
                try:
                    frame = parse_client_frame(raw)
                except BadFrame as error:
                    await socket.send(encode("error", reason=str(error)))
                    continue
                if isinstance(frame, Hello):
                    connection = await self.open_session(socket, frame, connection, client)
                    await self.push_to(connection, even_if_empty=True)  # the tab learns where it stands
                elif connection is None:
                    await socket.send(encode("error", reason="send 'hello' first"))
                elif isinstance(frame, Forget):
                    await asyncio.shield(self.forget(connection))
                    connection = None
                else:
                    # Shielded: a tab closing mid-turn must not cut the turn in half.
                    await asyncio.shield(self.handle_message(connection, frame, on_new_message))
        except (ConnectionClosed, asyncio.CancelledError):
            return
        finally:
            if connection is not None:
                self.unregister(connection)

    async def open_session(
        self, socket: Any, hello: Hello, previous: Optional[Connection], client: str
    ) -> Connection:
        """Resume the session the tab proves it holds, or open a new one and give it its token."""
        key = self.settings.signing_key
        if hello.session_id is not None and widget_token_valid(key, hello.session_id, hello.token):
            session_id, after = hello.session_id, hello.after
        else:
            session_id, _ = new_widget_session(key)
            after = -1
        await socket.send(encode("session", session_id=session_id, token=widget_token(key, session_id)))
        if previous is not None:
            self.unregister(previous)
        connection = Connection(socket, session_id, client, last_seq=after)
        self.connections.setdefault(session_id, set()).add(connection)
        return connection

    async def forget(self, connection: Connection) -> None:
        """The visitor's "delete this conversation": everything about it, then every tab told."""
        session_id = connection.session_id
        tabs = list(self.connections.get(session_id, ()))
        for tab in tabs:
            self.unregister(tab)
        await asyncio.to_thread(forget, self.settings, conversation_id=session_id, origin="widget")
        for tab in tabs:
            await tab.send(encode("forgotten"))

    def unregister(self, connection: Connection) -> None:
        tabs = self.connections.get(connection.session_id)
        if tabs is not None:
            tabs.discard(connection)
            if not tabs:
                del self.connections[connection.session_id]

    async def handle_message(
        self,
        connection: Connection,
        message: VisitorMessage,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        key = f"{connection.session_id}:{message.id}"
        wait = self.limits.client(connection.client) or self.limits.conversation("widget\n" + connection.session_id)
        if wait is not None:
            await connection.send(encode("limited", id=message.id, retry_after=wait, text=SLOW_DOWN.format(seconds=wait)))
            await connection.send(encode("ack", id=message.id))
            return
        checked = check_message(message.text, self.settings.max_message_chars)
        if checked.reply is not None:
            await connection.send(encode("notice", id=message.id, text=checked.reply))
            await connection.send(encode("ack", id=message.id))
            return
        # A browser resends what it sent just before a drop; handle each message once.
        # Another tab or server may be handling it now: wait for that, then look again.
        claimed = await self.fanout.claim(key)
        if not claimed:
            await self.wait_for_release(key)
        try:
            stored = await self.tracker_store.retrieve_full_tracker(connection.session_id)
        except Exception:
            if claimed:  # the tracker store is away: free the claim, the tab resends
                await self.fanout.release(key)
            raise
        if self.already_handled(stored, message.id) or (not claimed and not await self.fanout.claim(key)):
            if claimed:
                await self.fanout.release(key)
            await self.push_to(connection)
            await connection.send(encode("ack", id=message.id))
            return
        # While a person has the conversation (paused, bot/channels/handoff_relay.py) the bot
        # is not about to answer: no typing indicator.
        bot_answers = stored is None or not stored.is_paused()
        if bot_answers:
            await connection.send(encode("typing", on=True))
        metadata: dict[str, Any] = {}
        if message.display:
            metadata["lantern_display"] = message.display
        if message.hidden:
            metadata["lantern_hidden"] = True
        try:
            # The turn's messages reach this tab from the tracker store's save hook
            # (push_new_messages), before the ack below.
            await on_new_message(
                UserMessage(
                    checked.text,
                    WidgetOutput(),
                    connection.session_id,
                    input_channel=self.name(),
                    message_id=message.id,
                    metadata=metadata or None,
                )
            )
        except Exception:  # the visitor gets a reply, the server keeps running
            logger.exception("a widget turn failed")
            await self.push_to(connection)  # whatever was stored before the failure
            await connection.send(
                encode("notice", id=message.id, text="Sorry, something went wrong on my side. Please try again.")
            )
        finally:
            await self.fanout.release(key)
            if bot_answers:
                await connection.send(encode("typing", on=False))
        await connection.send(encode("ack", id=message.id))

    async def wait_for_release(self, key: str, poll_seconds: float = 0.2) -> None:
        """Until whoever handles this message is done (or died: the claim then expires)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while loop.time() < deadline and await self.fanout.is_claimed(key):
            await asyncio.sleep(poll_seconds)

    @staticmethod
    def already_handled(tracker: Any, message_id: str) -> bool:
        if tracker is None:
            return False
        return any(getattr(event, "message_id", None) == message_id for event in tracker.events)

    async def push_new_messages(self, session_id: str) -> None:
        """Tracker-save (and fan-out) listener: bring every open tab of this conversation up to date."""
        for connection in list(self.connections.get(session_id, ())):
            await self.push_to(connection)

    async def push_to(self, connection: Connection, even_if_empty: bool = False) -> None:
        async with connection.lock:
            tracker = await self.tracker_store.retrieve_full_tracker(connection.session_id)
            events = [event.as_dict() for event in tracker.events] if tracker else []
            fresh = [m for m in messages_from_events(events) if m.seq > connection.last_seq]
            if fresh or even_if_empty:
                await connection.send(encode("messages", messages=[m.to_frame() for m in fresh]))
            if fresh:
                connection.last_seq = fresh[-1].seq


def transcript_page(conversation_id: str, messages: list[Any]) -> str:
    """A conversation as a plain HTML page for a rep: every text escaped, nothing active."""
    rows = "\n".join(
        f'<p class="{m.sender}"><b>{"Visitor" if m.sender == "visitor" else "Lantern"}:</b> '
        f"{html.escape(m.text)}</p>"
        for m in messages
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Transcript</title></head>'
        f"<body><h1>Transcript of conversation {html.escape(conversation_id)}</h1>\n{rows}\n</body></html>"
    )
