"""The Slack channel end to end: signed Slack requests posted to the real Rasa server, whose
replies go to a fake Slack Web API on loopback that records them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import urlencode

import pytest
import requests

from bot.evaluation.stack import Stack, running_stack
from bot.rasa_integration.training import train_if_changed
from tests.e2e.fake_slack import FakeSlack, running_fake_slack

pytestmark = pytest.mark.slow

SECRET = "e2e-signing-secret"
TOKEN = "xoxb-e2e-token"
BOT_USER = "UBOT"
_timestamps = itertools.count(1)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with running_fake_slack() as running:
        yield running


@pytest.fixture(scope="module")
def stack(project_settings, fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    train_if_changed(project_settings)
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "LANTERN_SLACK_API_URL": fake.url}
    with running_stack(tmp_path_factory.mktemp("slack"), extra_env=env) as running:
        yield running


def slack_url(stack: Stack) -> str:
    return f"{stack.settings.rasa_url}/webhooks/slack/webhook"


def signature(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    """Slack's v0 signature, computed here independently of the code under test."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post(
    stack: Stack,
    body: bytes,
    form: bool = False,
    timestamp: Optional[int] = None,
    secret: str = SECRET,
    headers: Optional[dict[str, str]] = None,
) -> requests.Response:
    """POST `body` to the Slack webhook, signed as Slack signs it unless `headers` say otherwise."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    sent = {
        "Content-Type": "application/x-www-form-urlencoded" if form else "application/json",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(body, timestamp, secret),
        **(headers or {}),
    }
    return requests.post(slack_url(stack), data=body, headers={k: v for k, v in sent.items() if v is not None}, timeout=10)


def new_ts() -> str:
    return f"{1_700_000_000 + next(_timestamps)}.000100"


def event_body(event: dict[str, Any], event_id: Optional[str] = None) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:12]}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
            "event": event,
        }
    ).encode()


def dm(user: str, channel: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "user": user, "channel": channel, "text": text, "ts": new_ts(), **extra}


def mention(user: str, channel: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "user": user, "channel": channel, "text": f"<@{BOT_USER}> {text}", "ts": new_ts(), **extra}


def click(user: str, channel: str, value: str, message: dict[str, Any]) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T1"},
        "channel": {"id": channel},
        "message": message,
        "actions": [{"type": "button", "action_id": "lantern-button-0", "value": value, "action_ts": new_ts()}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def say(stack: Stack, event: dict[str, Any]) -> None:
    response = post(stack, event_body(event))
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True}


def assert_nothing_else_posted(stack: Stack, fake: FakeSlack, user: str, channel: str, before: int = 0) -> None:
    """Send one more message in the DM and check that its reply is the first new post.

    Turns of one conversation run in order, so a reply to anything sent earlier would
    have been posted before this one.
    """
    say(stack, dm(user, channel, "are you a bot?"))
    fake.wait_for_post(channel, lambda p: "I'm a bot" in p["text"])
    assert "I'm a bot" in fake.posts(channel)[before]["text"], fake.posts(channel)


def test_a_direct_message_gets_the_greeting_in_the_dm(stack: Stack, fake: FakeSlack) -> None:
    say(stack, dm("U100", "D100", "hi"))
    (reply,) = fake.wait_for_posts("D100", 1)
    assert "What are you trying to fix or figure out?" in reply["text"]
    assert "thread_ts" not in reply  # a DM is answered in the DM, not in a thread
    token = next(c["token"] for c in fake.calls if c["args"].get("channel") == "D100")
    assert token == TOKEN


def test_a_problem_in_a_dm_gets_the_discovery_question(stack: Stack, fake: FakeSlack) -> None:
    say(stack, dm("U101", "D101", "our newsletter keeps ending up in people's spam folders"))
    fake.wait_for_post("D101", lambda p: "What are you seeing exactly" in p["text"])


def test_a_mention_is_answered_in_its_thread_without_the_mention(stack: Stack, fake: FakeSlack) -> None:
    first = mention("U102", "C102", "our newsletter keeps ending up in people's spam folders")
    say(stack, first)
    fake.wait_for_post("C102", lambda p: "What are you seeing exactly" in p["text"])
    conversation = f"slack:U102:C102:{first['ts']}"
    user_texts = [e["text"] for e in stack.tracker(conversation)["events"] if e["event"] == "user"]
    assert user_texts == ["our newsletter keeps ending up in people's spam folders"]

    say(stack, mention("U102", "C102", "open rates halved since march", thread_ts=first["ts"]))
    fake.wait_for_post("C102", lambda p: "What does it cost you" in p["text"])  # the same conversation went on
    assert {p.get("thread_ts") for p in fake.posts("C102")} == {first["ts"]}


def test_recommendation_asks_for_feedback_with_slack_buttons_and_a_click_is_handled(stack: Stack, fake: FakeSlack) -> None:
    say(stack, dm("U103", "D103", "our site is painfully slow on phones"))
    fake.wait_for_post("D103", lambda p: "What are you seeing exactly" in p["text"])
    say(stack, dm("U103", "D103", "skip"))
    fake.wait_for_post("D103", lambda p: "What does it cost you" in p["text"])
    say(stack, dm("U103", "D103", "just show me the articles"))
    asked = fake.wait_for_post("D103", lambda p: "blocks" in p)
    assert "copperleaf.example/learn/slow-mobile-pages" in " ".join(p["text"] for p in fake.posts("D103"))
    section, actions = asked["blocks"]
    assert section["text"]["text"] == "Did that help?"
    assert actions["type"] == "actions" and len(actions["elements"]) <= 5
    assert [(b["type"], b["text"]["text"], b["value"]) for b in actions["elements"]] == [
        ("button", "Yes, it helped", "/feedback_helpful"),
        ("button", "Not really", "/not_helpful"),
    ]

    response = post(stack, click("U103", "D103", "/feedback_helpful", {"ts": "1.0", "text": "Did that help?"}), form=True)
    assert response.status_code == 200, response.text
    fake.wait_for_post("D103", lambda p: "Thanks, that helps us improve the guides." in p["text"])


def test_a_button_click_in_a_channel_is_answered_in_the_same_thread(stack: Stack, fake: FakeSlack) -> None:
    root = mention("U104", "C104", "hi")
    say(stack, root)
    fake.wait_for_post("C104", lambda p: "What are you trying to fix" in p["text"])
    message = {"ts": new_ts(), "thread_ts": root["ts"], "text": "Did that help?"}
    assert post(stack, click("U104", "C104", "/feedback_helpful", message), form=True).status_code == 200
    reply = fake.wait_for_post("C104", lambda p: "Thanks, that helps us improve the guides." in p["text"])
    assert reply["thread_ts"] == root["ts"]


@pytest.mark.parametrize(
    "case, headers, age_seconds, secret",
    [
        ("no-signature", {"X-Slack-Signature": None}, 0, SECRET),
        ("no-timestamp", {"X-Slack-Request-Timestamp": None}, 0, SECRET),
        ("garbled-signature", {"X-Slack-Signature": "v0=deadbeef"}, 0, SECRET),
        ("another-apps-secret", {}, 0, "not-our-secret"),
        ("six-minutes-old", {}, 360, SECRET),
        ("six-minutes-ahead", {}, -360, SECRET),
    ],
)
def test_requests_not_signed_by_slack_are_refused_and_not_answered(
    stack: Stack, fake: FakeSlack, case: str, headers: dict[str, Any], age_seconds: int, secret: str
) -> None:
    user, channel = f"U-{case}", f"D-{case}"
    timestamp = int(time.time()) - age_seconds
    response = post(stack, event_body(dm(user, channel, "hi")), timestamp=timestamp, secret=secret, headers=headers)
    assert response.status_code == 401, case
    assert "not signed by Slack" in response.json()["error"]
    assert_nothing_else_posted(stack, fake, user, channel)


def test_a_signature_over_a_different_body_is_refused(stack: Stack) -> None:
    timestamp = int(time.time())
    body = event_body(dm("U300", "D300", "hi"))
    headers = {"X-Slack-Signature": signature(body + b" ", timestamp)}
    assert post(stack, body, timestamp=timestamp, headers=headers).status_code == 401


@pytest.mark.parametrize("reason", ["http_timeout", "http_error", "connection_failed", "unknown"])
def test_a_retried_event_never_gets_a_second_reply(stack: Stack, fake: FakeSlack, reason: str) -> None:
    user, channel = f"U4-{reason}", f"D4-{reason}"
    body = event_body(dm(user, channel, "hi"))
    assert post(stack, body).status_code == 200
    fake.wait_for_post(channel, lambda p: "What are you trying to fix" in p["text"])
    retries = [post(stack, body, headers={"X-Slack-Retry-Num": n, "X-Slack-Retry-Reason": reason}) for n in ("1", "2")]
    assert [r.status_code for r in retries] == [200, 200]
    assert_nothing_else_posted(stack, fake, user, channel, before=1)
    assert [r.json().get("ignored") for r in retries] == ["event already received"] * 2


def test_url_verification_is_answered_only_when_signed(stack: Stack) -> None:
    body = json.dumps({"type": "url_verification", "token": "legacy", "challenge": "3eZbrw1aBm2"}).encode()
    assert post(stack, body).json() == {"challenge": "3eZbrw1aBm2"}
    assert post(stack, body, headers={"X-Slack-Signature": None}).status_code == 401


@pytest.mark.parametrize(
    "name, event",
    [
        ("bot-message", {"type": "message", "channel_type": "im", "bot_id": "B1", "text": "Did that help?"}),
        ("edit", {"type": "message", "channel_type": "im", "subtype": "message_changed", "message": {"text": "hi again"}}),
        ("own-user", {"type": "message", "channel_type": "im", "user": BOT_USER, "text": "my own words"}),
        ("channel-without-mention", {"type": "message", "channel_type": "channel", "text": "hi all"}),
        ("other-event", {"type": "reaction_added", "reaction": "thumbsup"}),
    ],
)
def test_bot_messages_edits_and_other_events_get_no_reply(
    stack: Stack, fake: FakeSlack, name: str, event: dict[str, Any]
) -> None:
    user, channel = f"U5-{name}", f"D5-{name}"
    response = post(stack, event_body({"user": user, "channel": channel, "ts": new_ts(), **event}))
    assert response.status_code == 200
    assert response.json()["ignored"]
    assert_nothing_else_posted(stack, fake, user, channel)


@pytest.mark.parametrize(
    "body, form, status",
    [
        (b'{"type": "event_callback", ', False, 400),
        (b"[1, 2, 3]", False, 400),
        (bytes(range(256)), False, 400),
        (b'{"type": "event_callback", "event": {"type": "message"}}', False, 400),
        (event_body({"type": "message", "channel_type": "im", "text": "no user", "channel": "D600", "ts": "1.5"}), False, 400),
        (b'{"type": "app_rate_limited", "minute_rate_limited": 1518467820}', False, 200),
        (b"nothing=here", True, 400),
        (b"payload=%7Bnot+json", True, 400),
        (b"\xff\xfe", True, 400),
        (urlencode({"payload": json.dumps({"type": "view_submission"})}).encode(), True, 200),
        (urlencode({"payload": json.dumps({"type": "block_actions", "actions": []})}).encode(), True, 200),
        (urlencode({"payload": json.dumps({"type": "block_actions", "actions": [{"type": "button", "value": "/x"}]})}).encode(), True, 400),
    ],
)
def test_malformed_or_unknown_requests_get_a_clear_answer_never_a_500(stack: Stack, body: bytes, form: bool, status: int) -> None:
    response = post(stack, body, form=form)
    assert response.status_code == status, response.text
    assert response.json().get("error" if status == 400 else "ignored")


def test_an_over_long_message_gets_the_length_refusal(stack: Stack, fake: FakeSlack) -> None:
    say(stack, dm("U700", "D700", "x" * 5000))
    (reply,) = fake.wait_for_posts("D700", 1)
    assert "5,000 characters" in reply["text"]


def test_a_bare_mention_asks_for_text(stack: Stack, fake: FakeSlack) -> None:
    say(stack, {"type": "app_mention", "user": "U701", "channel": "C701", "text": f"<@{BOT_USER}>", "ts": new_ts()})
    (reply,) = fake.wait_for_posts("C701", 1)
    assert "didn't get any text" in reply["text"]


def test_without_configuration_the_channel_is_off_and_says_so(
    stack: Stack, project_settings, tmp_path: Path
) -> None:
    # Run after the module's stack is up, so the model is trained; empty values override any .env.
    off = {"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": ""}
    with running_stack(tmp_path, extra_env=off) as bare:
        body = event_body(dm("U800", "D800", "hi"))
        response = requests.post(
            f"{bare.settings.rasa_url}/webhooks/slack/webhook", data=body, headers={"Content-Type": "application/json"}, timeout=10
        )
        assert response.status_code == 404
        assert "SLACK_BOT_TOKEN" in response.json()["error"]
        log = (bare.log_dir / "rasa.log").read_text(errors="replace")
        assert "Slack channel off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in log
        assert "What are you trying to fix" in bare.texts("rest-800", "hi")  # the rest of Lantern runs
