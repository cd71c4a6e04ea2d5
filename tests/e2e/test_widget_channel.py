"""The widget's WebSocket channel on the real Rasa server, spoken to as the browser does."""

import asyncio
from typing import Iterator

import pytest
import requests
import websockets
from websockets.exceptions import InvalidStatusCode

from bot.evaluation.stack import Stack, free_port, running_stack
from bot.rasa_integration.training import train_if_changed
from tests.e2e.widget_client import WidgetClient, bot_text

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(project_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    train_if_changed(project_settings)
    # The allowed origin is the demo page's, as with `make run`.
    with running_stack(tmp_path_factory.mktemp("widget"), extra_env={"LANTERN_DEMO_PORT": str(free_port())}) as running:
        yield running


def ws_url(stack: Stack) -> str:
    return stack.settings.rasa_url.replace("http", "ws") + "/webhooks/widget/ws"


def origin(stack: Stack) -> str:
    return stack.settings.demo_url


def session() -> None:
    return None  # a new tab: the server issues the conversation


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 90))


def test_the_script_is_served_from_the_rasa_server(stack: Stack) -> None:
    response = requests.get(f"{stack.settings.rasa_url}/webhooks/widget/lantern.js", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert "webhooks/widget/ws" in response.text


def test_other_origins_are_refused(stack: Stack) -> None:
    async def attempt(origin_header):
        with pytest.raises(InvalidStatusCode) as refused:
            await websockets.connect(ws_url(stack), origin=origin_header)
        return refused.value.status_code

    assert run(attempt("https://evil.example")) == 403
    assert run(attempt(None)) == 403


def test_a_conversation_goes_from_greeting_to_an_article_card(stack: Stack) -> None:
    async def conversation():
        client = await WidgetClient.connect(ws_url(stack), origin(stack), session())
        greeting = await client.turn("/greet", message_id="greet-0001")
        assert "What are you trying to fix or figure out?" in bot_text(greeting)
        problem = await client.turn("our newsletter keeps ending up in people's spam folders")
        assert problem[0]["sender"] == "visitor" and "spam folders" in problem[0]["text"]
        assert "What are you seeing exactly" in bot_text(problem)
        assert {"type": "typing", "on": True} in client.frames and {"type": "typing", "on": False} in client.frames
        reply = await client.turn("just show me the articles")
        cards = [m["card"] for m in reply if "card" in m]
        assert cards and cards[0]["url"] == "https://copperleaf.example/learn/emails-going-to-spam"
        assert cards[0]["title"] and cards[0]["summary"]
        feedback = [m for m in reply if m.get("buttons")]
        assert feedback[-1]["buttons"][0] == {"title": "Yes, it helped", "payload": "/feedback_helpful"}
        seqs = [m["seq"] for f in client.frames if f["type"] == "messages" for m in f["messages"]]
        assert seqs == sorted(set(seqs)), "every message arrives once, in order"
        await client.close()

    run(conversation())


def test_history_comes_back_on_reconnect_and_a_resent_message_is_handled_once(stack: Stack) -> None:
    async def first_visit():
        client = await WidgetClient.connect(ws_url(stack), origin(stack), session())
        await client.turn("hi", message_id="hi-00000001")
        await client.close()
        return client.session

    async def second_visit():
        client = await WidgetClient.connect(ws_url(stack), origin(stack), sid)
        history = (await client.until("messages"))["messages"]
        assert [m["sender"] for m in history[:2]] == ["visitor", "bot"]
        assert history[0]["id"] == "hi-00000001"
        last = history[-1]["seq"]
        # The browser lost the ack and sends the same message again.
        again = await client.turn("hi", message_id="hi-00000001")
        assert again == []
        await client.close()
        return last

    async def resume_after(last):
        client = await WidgetClient.connect(ws_url(stack), origin(stack), sid, after=last)
        more = await client.turn("are you a bot?")
        assert [m["seq"] for m in more] == [last + 1, last + 2]
        await client.close()

    sid = run(first_visit())
    last = run(second_visit())
    user_events = [e for e in stack.tracker(sid[0])["events"] if e["event"] == "user"]
    assert [e["text"] for e in user_events] == ["hi"]
    run(resume_after(last))


def test_a_message_added_through_the_http_api_is_pushed_to_the_open_widget(stack: Stack) -> None:
    async def scenario():
        client = await WidgetClient.connect(ws_url(stack), origin(stack), session())
        sid = client.session_id
        await client.turn("hi")
        response = await asyncio.to_thread(
            requests.post,
            f"{stack.settings.rasa_url}/conversations/{sid}/tracker/events",
            params={"token": "test-token", "output_channel": "latest", "execute_side_effects": "true"},
            json={"event": "bot", "text": "Hi, this is Maya from Copperleaf. Happy to help."},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        pushed = await client.until("messages", timeout=15)
        assert [m["text"] for m in pushed["messages"]] == ["Hi, this is Maya from Copperleaf. Happy to help."]
        await client.close()

    run(scenario())


def test_bad_frames_get_a_reason_and_the_connection_keeps_working(stack: Stack) -> None:
    async def scenario():
        socket = await websockets.connect(ws_url(stack), origin=origin(stack))
        client = WidgetClient(socket)
        await socket.send("{not json")
        assert "not valid JSON" in (await client.until("error"))["reason"]
        await client.send_frame({"type": "message", "id": "m-00000001", "text": "hi"})
        assert "hello" in (await client.until("error"))["reason"]
        await client.hello()
        too_long = await client.say("x" * 2001, message_id="long-0001")
        notice = await client.until("notice", id=too_long)
        assert "up to 2,000" in notice["text"]
        await client.until("ack", id=too_long)
        await client.say("   ", message_id="blank-001")
        await client.until("ack", id="blank-001")
        assert "What are you trying to fix" in bot_text(await client.turn("hello"))
        await client.close()

    run(scenario())
