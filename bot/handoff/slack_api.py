"""The few Slack Web API methods the reps' console uses, over plain HTTPS (`requests`).

Blocking on purpose: actions call it from their worker thread, the Rasa server through
`asyncio.to_thread`. The base URL is a setting so tests point it at a fake on loopback.
"""

from __future__ import annotations

from typing import Any, Optional

import requests


class SlackApiError(RuntimeError):
    """Slack answered `ok: false`, or could not be reached."""


class SlackApi:
    def __init__(self, token: str, base_url: str, timeout: float = 5.0) -> None:
        self.token = token
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout

    def call(self, method: str, **args: Any) -> dict[str, Any]:
        try:
            response = requests.post(
                self.base_url + method,
                json={k: v for k, v in args.items() if v is not None},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout,
            )
            answer = response.json()
        except (requests.RequestException, ValueError) as error:
            raise SlackApiError(f"{method}: {error.__class__.__name__}: {error}") from error
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise SlackApiError(f"{method}: {answer.get('error') if isinstance(answer, dict) else answer!r}")
        return answer

    def post(self, channel: str, text: str, blocks: Optional[list[dict[str, Any]]] = None,
             thread_ts: Optional[str] = None) -> str:
        """Post a message; its `ts` (the thread's id when it starts one)."""
        answer = self.call("chat.postMessage", channel=channel, text=text, blocks=blocks, thread_ts=thread_ts)
        return str(answer.get("ts") or "")

    def update(self, channel: str, ts: str, text: str, blocks: Optional[list[dict[str, Any]]] = None) -> None:
        self.call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)

    def ephemeral(self, channel: str, user: str, text: str, thread_ts: Optional[str] = None) -> None:
        """A message only `user` sees."""
        self.call("chat.postEphemeral", channel=channel, user=user, text=text, thread_ts=thread_ts)

    def display_name(self, user: str) -> str:
        """The name a visitor sees for a rep: Slack's display name, else the real name, else the id."""
        try:
            found = self.call("users.info", user=user).get("user") or {}
        except SlackApiError:
            return user
        profile = found.get("profile") or {}
        for name in (profile.get("display_name"), profile.get("real_name"), found.get("real_name"), found.get("name")):
            if isinstance(name, str) and name.strip():
                return name.strip()
        return user
