"""A minimal widget client for tests: speaks bot/channels/widget_protocol.py over a real WebSocket."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, Optional

import websockets


class WidgetClient:
    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.frames: list[dict] = []
        self.session: Optional[tuple[str, str]] = None  # (session id, token) the server gave

    @property
    def session_id(self) -> str:
        assert self.session is not None
        return self.session[0]

    @classmethod
    async def connect(
        cls, ws_url: str, origin: str, session: Optional[tuple[str, str]] = None, after: int = -1
    ) -> "WidgetClient":
        """Connect and say hello: with a held (session id, token), or as a new tab."""
        socket = await websockets.connect(ws_url, origin=origin)
        client = cls(socket)
        await client.hello(session, after)
        return client

    async def hello(self, session: Optional[tuple[str, str]] = None, after: int = -1) -> dict:
        frame: dict[str, Any] = {"type": "hello", "after": after}
        if session is not None:
            frame.update(session_id=session[0], token=session[1])
        await self.send_frame(frame)
        given = await self.until("session")
        self.session = (given["session_id"], given["token"])
        return given

    async def send_frame(self, frame: dict) -> None:
        await self.socket.send(json.dumps(frame))

    async def say(self, text: str, message_id: Optional[str] = None, **extra: Any) -> str:
        message_id = message_id or uuid.uuid4().hex
        await self.send_frame({"type": "message", "id": message_id, "text": text, **extra})
        return message_id

    async def next_frame(self, timeout: float = 30) -> dict:
        frame = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def until(self, kind: str, timeout: float = 30, **fields: Any) -> dict:
        """Read frames until one of `kind` (with these field values) arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.next_frame(max(0.1, deadline - loop.time()))
            if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
                return frame

    async def turn(self, text: str, message_id: Optional[str] = None) -> list[dict]:
        """Send a message and return every history message pushed until it is acknowledged."""
        start = len(self.frames)
        message_id = await self.say(text, message_id)
        await self.until("ack", id=message_id)
        return [m for f in self.frames[start:] if f["type"] == "messages" for m in f["messages"]]

    async def close(self) -> None:
        await self.socket.close()


def bot_text(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages if m["sender"] == "bot")
