"""The whole assistant: trained model, Rasa server, action server, index and tracker store,
talked to through the REST channel exactly as a client would."""

import json
import sqlite3
from pathlib import Path
from typing import Iterator

import pytest
import requests
from sqlalchemy import create_engine, text

from bot.evaluation.stack import Stack, running_stack
from bot.rasa_integration.training import train_if_changed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(project_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    train_if_changed(project_settings)
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def test_greeting_asks_about_the_problem(stack: Stack) -> None:
    reply = stack.texts("greet-1", "hi")
    assert "What are you trying to fix or figure out?" in reply


def test_discovery_reflects_the_problem_then_recommends_the_right_article(stack: Stack) -> None:
    first = stack.texts("problem-1", "our newsletter keeps ending up in people's spam folders")
    assert "What are you seeing exactly" in first
    assert "What does it cost you" in stack.texts("problem-1", "open rates halved since march")
    assert "What have you already tried" in stack.texts("problem-1", "we lose repeat orders from regulars")
    reply = stack.texts("problem-1", "nothing yet")
    assert "So: your newsletter keeps ending up in people's spam folders" in reply
    assert "it matters because you lose repeat orders from regulars" in reply
    assert reply.index("So: ") < reply.index("https://copperleaf.example/learn/emails-going-to-spam")
    assert "Why it matters:" in reply
    more = stack.texts("problem-1", "tell me more")
    assert "emails-going-to-spam" in more


def test_discovery_can_be_skipped_and_cut_short(stack: Stack) -> None:
    stack.texts("skip-1", "our site is painfully slow on phones")
    assert "What does it cost you" in stack.texts("skip-1", "skip")
    reply = stack.texts("skip-1", "just show me the articles")
    assert "So: your site is painfully slow on phones" in reply
    assert "copperleaf.example/learn/slow-mobile-pages" in reply


def test_a_question_is_answered_straight_away(stack: Stack) -> None:
    reply = stack.texts("question-1", "how do we get customers to leave more reviews?")
    assert "copperleaf.example/learn/too-few-reviews" in reply
    assert "What are you seeing exactly" not in reply


def test_small_talk_gets_sensible_replies(stack: Stack) -> None:
    assert "I'm a bot" in stack.texts("talk-1", "are you a bot?")
    assert "Glad it helped" in stack.texts("talk-1", "thanks")
    assert "Bye for now" in stack.texts("talk-1", "bye")
    assert "outside what I can help with" in stack.texts("talk-1", "tell me a joke")


def test_nothing_confident_is_presented_for_an_off_domain_question_and_a_gap_is_logged(stack: Stack) -> None:
    reply = stack.texts("offdomain-1", "how do i stop my tractor engine overheating in summer?")
    assert "copperleaf.example" not in reply
    assert "I don't have a guide that answers that well" in reply
    engine = create_engine(stack.settings.db_url, future=True)
    with engine.connect() as connection:
        gaps = connection.execute(
            text("select question from content_gaps where conversation_id = 'offdomain-1'")
        ).fetchall()
    engine.dispose()
    assert [g[0] for g in gaps] == ["how do i stop my tractor engine overheating in summer?"]


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
    sender = f"odd-{len(message)}-{ord(message[0])}"
    reply = stack.say(sender, message)
    assert isinstance(reply, list)
    assert any(m.get("text") for m in stack.say(sender, "hello"))


def test_the_conversation_is_stored_in_the_sqlite_tracker_store(stack: Stack) -> None:
    stack.texts("stored-1", "hi")
    stack.texts("stored-1", "how do i stop emails going to spam")
    path = stack.settings.tracker_db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "select type_name, data from events where sender_id = ? order by id", ("stored-1",)
        ).fetchall()
    texts = [json.loads(data).get("text") for kind, data in rows if kind == "user"]
    assert texts == ["hi", "how do i stop emails going to spam"]


def test_the_http_api_needs_the_token(stack: Stack) -> None:
    url = f"{stack.settings.rasa_url}/conversations/stored-1/tracker"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, params={"token": "wrong"}, timeout=10).status_code == 401
    assert stack.tracker("greet-1")["sender_id"] == "greet-1"


@pytest.mark.postgres
def test_the_tracker_store_switches_to_postgresql(project_settings, postgres_url: str, tmp_path: Path) -> None:
    train_if_changed(project_settings)
    with running_stack(tmp_path, db_url=postgres_url, tracker_db_url=postgres_url) as pg_stack:
        assert "emails-going-to-spam" in pg_stack.texts("pg-1", "how do i stop our emails going to spam")
    engine = create_engine(postgres_url, future=True)
    with engine.connect() as connection:
        rows = connection.execute(
            text("select data from events where sender_id = 'pg-1' and type_name = 'user'")
        ).fetchall()
    engine.dispose()
    assert [json.loads(r[0])["text"] for r in rows] == ["how do i stop our emails going to spam"]
