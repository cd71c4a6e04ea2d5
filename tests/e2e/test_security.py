"""Issue 17's findings against the real servers: each probe that worked before is refused now.

One stack with tight limits (5 messages a conversation, 4 sockets a client, a 3-second window)
so that the limits are reached, and recovered from, within the test."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import requests
import websockets
from websockets.exceptions import InvalidStatusCode

from bot.evaluation.stack import Stack, free_port, running_stack
from bot.rasa_integration.action_auth import SECRET_HEADER
from bot.rasa_integration.training import train_if_changed
from bot.security.signing import transcript_token
from tests.e2e.fake_slack import running_fake_slack
from tests.e2e.widget_client import WidgetClient

pytestmark = pytest.mark.slow

PER_CONVERSATION = 5
MAX_SOCKETS = 4


SLACK_SECRET = "security-signing-secret"


@pytest.fixture(scope="module")
def stack(project_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    train_if_changed(project_settings)
    with running_fake_slack() as slack:
        limits = {
            "LANTERN_DEMO_PORT": str(free_port()),
            "LANTERN_RATE_PER_CONVERSATION": str(PER_CONVERSATION),
            "LANTERN_RATE_WINDOW_SECONDS": "3",
            "LANTERN_MAX_CONNECTIONS_PER_CLIENT": str(MAX_SOCKETS),
            "SLACK_BOT_TOKEN": "xoxb-security", "SLACK_SIGNING_SECRET": SLACK_SECRET, "LANTERN_SLACK_API_URL": slack.url,
        }
        with running_stack(tmp_path_factory.mktemp("security"), extra_env=limits) as running:
            yield running


def ws_url(stack: Stack, path: str = "/webhooks/widget/ws") -> str:
    return stack.settings.rasa_url.replace("http", "ws") + path


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 90))


def post(stack: Stack, body: bytes, content_type: str = "application/json") -> requests.Response:
    return requests.post(stack.webhook, data=body, headers={"Content-Type": content_type}, timeout=30)


@pytest.mark.parametrize("path", ["/webhooks/widget/ws/", "/webhooks/widget/ws//", "/webhooks/widget/ws"])
@pytest.mark.parametrize("origin", ["https://evil.example", None])
def test_finding_2_no_spelling_of_the_socket_path_skips_the_origin_check(stack: Stack, path: str, origin) -> None:
    async def attempt():
        with pytest.raises(InvalidStatusCode) as refused:
            await websockets.connect(ws_url(stack, path), origin=origin)
        return refused.value.status_code

    assert run(attempt()) == 403


def test_finding_1_a_conversation_id_opens_nothing_and_rest_cannot_reach_a_widget_session(stack: Stack) -> None:
    async def scenario():
        owner = await WidgetClient.connect(ws_url(stack), stack.settings.demo_url)
        await owner.turn("my name is Zed Quill and our emails land in spam")
        # Someone who learnt the id (from a transcript URL, a log) connects with it.
        thief = WidgetClient(await websockets.connect(ws_url(stack), origin=stack.settings.demo_url))
        await thief.send_frame({"type": "hello", "session_id": owner.session_id, "after": -1})
        given = await thief.until("session")
        history = await thief.until("messages")
        assert given["session_id"] != owner.session_id and history["messages"] == []
        # The REST channel cannot write into the visitor's tab either.
        response = await asyncio.to_thread(
            requests.post, stack.webhook, json={"sender": owner.session_id, "message": "/restart"}, timeout=30
        )
        assert response.status_code == 400 and "other channels" in response.json()["error"]
        # The owner, with the token, still gets everything.
        again = await WidgetClient.connect(ws_url(stack), stack.settings.demo_url, owner.session)
        resumed = (await again.until("messages"))["messages"]
        assert "Zed Quill" in resumed[0]["text"]
        for client in (owner, thief, again):
            await client.close()

    run(scenario())


@pytest.mark.parametrize(
    "body, content_type, status, reason",
    [
        (b'{"sender": "s-415", "message": "hi"}', "text/plain", 415, "application/json"),
        (b'{"sender": "s-413", "message": "' + b"x" * 300_000 + b'"}', "application/json", 413, "larger than"),
        (b'{"sender": "s-deep", "message": "hi", "metadata": ' + b"[" * 1000 + b"]" * 1000 + b"}",
         "application/json", 400, "nested"),
        (b'{"sender": "s-sur", "message": "hi", "metadata": {"page_url": "\\ud800"}}', "application/json", 400,
         "surrogate"),
        (b'{"sender": "s-disp", "message": "hi", "metadata": {"lantern_display": "fake visitor"}}',
         "application/json", 400, "lantern_display"),
    ],
)
def test_findings_3_4_5_9_rest_input_limits_give_a_clear_4xx(
    stack: Stack, body: bytes, content_type: str, status: int, reason: str
) -> None:
    response = post(stack, body, content_type)
    assert response.status_code == status, response.text
    assert reason in response.json()["error"]


def test_finding_4_a_100_mb_body_is_not_read(stack: Stack) -> None:
    started = time.monotonic()
    try:
        response = post(stack, b'{"sender": "big", "message": "' + b"x" * 100_000_000 + b'"}')
        assert response.status_code == 413
    except requests.ConnectionError:
        pass  # the server closed the connection after its limit: also not read
    assert time.monotonic() - started < 20
    assert "What are you trying to fix" in stack.texts("after-big", "hi")


def test_finding_7_rest_rate_limit_gives_429_with_retry_after_and_recovers(stack: Stack) -> None:
    for _ in range(PER_CONVERSATION):
        assert post(stack, b'{"sender": "rate-1", "message": "hi"}').status_code == 200
    limited = post(stack, b'{"sender": "rate-1", "message": "hi"}')
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 3
    assert post(stack, b'{"sender": "rate-2", "message": "hi"}').status_code == 200  # others unaffected
    time.sleep(int(limited.headers["Retry-After"]) + 0.2)
    assert post(stack, b'{"sender": "rate-1", "message": "hi"}').status_code == 200


def test_finding_7_widget_connections_per_client_are_capped(stack: Stack) -> None:
    async def scenario():
        held = [await websockets.connect(ws_url(stack), origin=stack.settings.demo_url) for _ in range(MAX_SOCKETS)]
        for socket in held:
            await socket.send(json.dumps({"type": "hello"}))
            await socket.recv()
        with pytest.raises(InvalidStatusCode) as refused:
            await websockets.connect(ws_url(stack), origin=stack.settings.demo_url)
        assert refused.value.status_code == 429
        await held[0].close()
        await asyncio.sleep(0.3)
        extra = await websockets.connect(ws_url(stack), origin=stack.settings.demo_url)
        for socket in [extra, *held[1:]]:
            await socket.close()

    run(scenario())


def test_finding_8_the_action_server_refuses_a_direct_call(stack: Stack) -> None:
    call = {"next_action": "action_submit_lead", "sender_id": "x",
            "tracker": {"sender_id": "x", "slots": {"lead_email": "not-an-email", "consent": True}, "events": []},
            "domain": {}, "version": "3.6.21"}
    url = f"{stack.settings.action_url}/webhook"
    assert requests.post(url, json=call, timeout=10).status_code == 401
    assert requests.post(url, json=call, headers={SECRET_HEADER: "guess"}, timeout=10).status_code == 401
    assert requests.get(f"{stack.settings.action_url}/health", timeout=10).status_code == 200
    # ...while the Rasa server, which sends the secret, still runs actions.
    assert "What are you seeing exactly" in stack.texts("actions-ok", "our newsletter keeps ending up in spam")


def test_finding_9_the_api_token_is_not_in_the_process_list(stack: Stack) -> None:
    for pid in stack.pids.values():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        assert b"test-token" not in cmdline
    assert stack.tracker("actions-ok")["sender_id"] == "actions-ok"  # the token still works


@pytest.mark.parametrize("path", ["/webhooks/widget/lantern.js", "/webhooks/rest/", "/webhooks/widget/transcript/x"])
def test_security_headers_on_every_page_the_rasa_server_serves(stack: Stack, path: str) -> None:
    response = requests.get(stack.settings.rasa_url + path, timeout=10)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_reps_transcript_link_works_with_its_own_token_until_it_expires(stack: Stack) -> None:
    stack.texts("transcript-1", "our <b>site</b> is slow on phones")
    key = stack.settings.signing_key
    good = transcript_token(key, "transcript-1", datetime.now(timezone.utc) + timedelta(hours=1))
    page = requests.get(f"{stack.settings.rasa_url}/webhooks/widget/transcript/{good}", timeout=10)
    assert page.status_code == 200 and "our &lt;b&gt;site&lt;/b&gt; is slow on phones" in page.text
    expired = transcript_token(key, "transcript-1", datetime.now(timezone.utc) - timedelta(seconds=1))
    assert requests.get(f"{stack.settings.rasa_url}/webhooks/widget/transcript/{expired}", timeout=10).status_code == 404
    # The visitor's id is no way in.
    assert requests.get(f"{stack.settings.rasa_url}/webhooks/widget/transcript/transcript-1", timeout=10).status_code == 404


def test_no_visitor_text_in_the_logs(stack: Stack) -> None:
    secret_words = "zanzibarquokka"
    stack.texts("logs-1", f"our {secret_words} newsletter lands in spam, write to zed@quill.example")

    async def widget_turn():
        client = await WidgetClient.connect(ws_url(stack), stack.settings.demo_url)
        await client.turn(f"the {secret_words} site is slow")
        await client.close()

    run(widget_turn())
    logs = "\n".join(p.read_text(errors="replace") for p in stack.log_dir.glob("*.log"))
    assert secret_words not in logs and "zed@quill.example" not in logs


def slack_post(stack: Stack, body: bytes) -> requests.Response:
    timestamp = int(time.time())
    signature = "v0=" + hmac.new(SLACK_SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": signature}
    return requests.post(f"{stack.settings.rasa_url}/webhooks/slack/webhook", data=body, headers=headers, timeout=10)


def slack_dm(text: str) -> bytes:
    event = {"type": "message", "channel_type": "im", "user": "U-FLOOD", "channel": "D-FLOOD", "text": text,
             "ts": f"{time.time():.6f}"}
    return json.dumps({"type": "event_callback", "team_id": "T1", "event_id": f"Ev{uuid.uuid4().hex[:12]}",
                       "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
                       "event": event}).encode()


def test_finding_7_slack_requests_are_limited_per_conversation_and_in_size(stack: Stack) -> None:
    answers = [slack_post(stack, slack_dm(f"hello {i}")) for i in range(PER_CONVERSATION + 1)]
    assert [a.status_code for a in answers[:PER_CONVERSATION]] == [200] * PER_CONVERSATION
    limited = answers[-1]
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 3
    assert limited.headers["X-Slack-No-Retry"] == "1"  # Slack must not resend it
    time.sleep(int(limited.headers["Retry-After"]) + 0.2)
    assert slack_post(stack, slack_dm("hello again")).status_code == 200
    big = slack_post(stack, slack_dm("x" * 300_000))
    assert big.status_code == 413
    deep = slack_post(stack, b'{"type": "event_callback", "event_id": "E1", "event": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    assert deep.status_code in (400, 413)
