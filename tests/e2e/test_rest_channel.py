"""The whole assistant: trained model, Rasa server, action server, index and tracker store,
talked to through the REST channel exactly as a client would."""

import json
import sqlite3
from pathlib import Path
from typing import Iterator

import pytest
import requests
from sqlalchemy import create_engine, text

from bot.training import train_if_changed
from tests.stack import Stack, running_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(project_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    train_if_changed(project_settings)
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def test_greeting_asks_about_the_problem(stack: Stack) -> None:
    reply = stack.texts("greet-1", "hi")
    assert "What are you trying to fix or figure out?" in reply


def test_a_described_problem_gets_the_right_article(stack: Stack) -> None:
    reply = stack.texts("problem-1", "our newsletter keeps ending up in people's spam folders")
    assert "Our emails land in spam or promotions" in reply
    assert "Why it matters:" in reply
    assert "https://copperleaf.example/learn/emails-going-to-spam" in reply


def test_small_talk_gets_sensible_replies(stack: Stack) -> None:
    assert "I'm a bot" in stack.texts("talk-1", "are you a bot?")
    assert "Glad it helped" in stack.texts("talk-1", "thanks")
    assert "Bye for now" in stack.texts("talk-1", "bye")
    assert "outside what I can help with" in stack.texts("talk-1", "tell me a joke")


def test_nothing_confident_is_presented_for_an_off_domain_problem(stack: Stack) -> None:
    reply = stack.texts("offdomain-1", "my car makes a grinding noise when i brake")
    assert "copperleaf.example" not in reply


@pytest.mark.parametrize(
    "body, status",
    [
        (b'{"sender": "bad-1", "message": ', 400),
        (b"[1, 2, 3]", 400),
        (b'{"sender": "bad-1", "message": 42}', 400),
        (b'{"message": "no sender"}', 400),
        (bytes(range(256)), 400),
    ],
)
def test_malformed_bodies_get_a_4xx_and_the_conversation_goes_on(stack: Stack, body: bytes, status: int) -> None:
    response = requests.post(stack.webhook, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == status
    assert "error" in response.json()
    assert "What are you trying to fix" in stack.texts("bad-1", "hello")


@pytest.mark.parametrize(
    "message, expected",
    [
        ("", "didn't get any text"),
        ("x" * 100_000, "100,000 characters"),
    ],
)
def test_empty_and_huge_messages_get_a_clear_reply(stack: Stack, message: str, expected: str) -> None:
    assert expected in stack.texts("edge-1", message)
    assert "What are you trying to fix" in stack.texts("edge-1", "hi")


@pytest.mark.parametrize(
    "message", ["👋👋👋", "مرحبا، موقعي بطيء", "\u0000\u0001binary\u0002", "💥" * 1500, "<script>alert(1)</script>"]
)
def test_unusual_text_never_breaks_the_conversation(stack: Stack, message: str) -> None:
    reply = stack.say("odd-1", message)
    assert isinstance(reply, list)
    assert "What are you trying to fix" in stack.texts("odd-1", "hello")


def test_the_conversation_is_stored_in_the_sqlite_tracker_store(stack: Stack) -> None:
    stack.texts("stored-1", "hi")
    stack.texts("stored-1", "our emails go to spam")
    path = stack.settings.tracker_db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "select type_name, data from events where sender_id = ? order by id", ("stored-1",)
        ).fetchall()
    texts = [json.loads(data).get("text") for kind, data in rows if kind == "user"]
    assert texts == ["hi", "our emails go to spam"]


def test_the_http_api_needs_the_token(stack: Stack) -> None:
    url = f"{stack.settings.rasa_url}/conversations/stored-1/tracker"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, params={"token": "wrong"}, timeout=10).status_code == 401
    assert stack.tracker("greet-1")["sender_id"] == "greet-1"


@pytest.mark.postgres
def test_the_tracker_store_switches_to_postgresql(project_settings, postgres_url: str, tmp_path: Path) -> None:
    train_if_changed(project_settings)
    with running_stack(tmp_path, db_url=postgres_url, tracker_db_url=postgres_url) as pg_stack:
        assert "emails-going-to-spam" in pg_stack.texts("pg-1", "our emails keep going to spam")
    engine = create_engine(postgres_url, future=True)
    with engine.connect() as connection:
        rows = connection.execute(
            text("select data from events where sender_id = 'pg-1' and type_name = 'user'")
        ).fetchall()
    engine.dispose()
    assert [json.loads(r[0])["text"] for r in rows] == ["our emails keep going to spam"]
