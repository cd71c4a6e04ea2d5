"""Reading Slack's requests, shaping replies for Slack, and the event receipts."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from bot.channels.inbound import BadRequest
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
    to_plain_text,
)
from tests.conftest import PROJECT_HOME

BOT = frozenset({"UBOT"})


def envelope(event: dict[str, Any], event_id: str = "Ev1") -> bytes:
    return json.dumps(
        {"type": "event_callback", "event_id": event_id, "authorizations": [{"user_id": "UBOT", "is_bot": True}], "event": event}
    ).encode()


def interaction(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


# Events


def test_a_direct_message_is_one_conversation_per_user_replied_in_the_dm() -> None:
    body = envelope({"type": "message", "channel_type": "im", "user": "U1", "channel": "D1", "text": "hi", "ts": "10.1"})
    assert read_event(body) == SlackMessage("hi", "slack:U1", "D1", None, "U1", "Ev1")


def test_a_direct_message_in_a_thread_is_replied_in_that_thread_same_conversation() -> None:
    event = {"type": "message", "channel_type": "im", "user": "U1", "channel": "D1", "text": "hi", "ts": "11.1", "thread_ts": "10.1"}
    message = read_event(envelope(event))
    assert isinstance(message, SlackMessage)
    assert (message.conversation_id, message.thread_ts) == ("slack:U1", "10.1")


def test_a_mention_starts_a_thread_conversation_without_the_mention() -> None:
    event = {"type": "app_mention", "user": "U1", "channel": "C1", "text": "<@UBOT> our site is slow", "ts": "20.5"}
    assert read_event(envelope(event)) == SlackMessage("our site is slow", "slack:U1:C1:20.5", "C1", "20.5", "U1", "Ev1")


def test_a_mention_inside_a_thread_continues_that_threads_conversation() -> None:
    event = {"type": "app_mention", "user": "U1", "channel": "C1", "text": "more <@UBOT>", "ts": "21.0", "thread_ts": "20.5"}
    message = read_event(envelope(event))
    assert isinstance(message, SlackMessage)
    assert (message.text, message.conversation_id, message.thread_ts) == ("more", "slack:U1:C1:20.5", "20.5")


def test_two_people_in_one_thread_are_two_conversations() -> None:
    first = read_event(envelope({"type": "app_mention", "user": "U1", "channel": "C1", "text": "a", "ts": "2.0", "thread_ts": "1.0"}))
    second = read_event(envelope({"type": "app_mention", "user": "U2", "channel": "C1", "text": "b", "ts": "3.0", "thread_ts": "1.0"}))
    assert isinstance(first, SlackMessage) and isinstance(second, SlackMessage)
    assert first.conversation_id != second.conversation_id


def test_url_verification_gives_the_challenge() -> None:
    assert read_event(b'{"type": "url_verification", "challenge": "abc"}') == Challenge("abc")


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message", "channel_type": "im", "user": "U1", "bot_id": "B1", "channel": "D1", "text": "x", "ts": "1.0"},
        {"type": "message", "channel_type": "im", "subtype": "bot_message", "channel": "D1", "text": "x", "ts": "1.0"},
        {"type": "message", "channel_type": "im", "subtype": "message_changed", "channel": "D1", "ts": "1.0"},
        {"type": "message", "channel_type": "im", "subtype": "message_deleted", "channel": "D1", "ts": "1.0"},
        {"type": "message", "channel_type": "im", "user": "UBOT", "channel": "D1", "text": "x", "ts": "1.0"},
        {"type": "message", "channel_type": "channel", "user": "U1", "channel": "C1", "text": "x", "ts": "1.0"},
        {"type": "reaction_added", "user": "U1"},
    ],
    ids=["bot_id", "bot subtype", "edit", "delete", "own user", "channel message", "other type"],
)
def test_the_bot_itself_edits_and_other_events_are_ignored(event: dict[str, Any]) -> None:
    assert isinstance(read_event(envelope(event)), Ignored)


def test_other_request_types_are_ignored() -> None:
    assert isinstance(read_event(b'{"type": "app_rate_limited"}'), Ignored)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b"\xff\xfe\x00",
        b'{"type": "url_verification"}',
        b'{"type": "event_callback", "event": {}}',
        b'{"type": "event_callback", "event_id": "Ev1", "event": "hi"}',
        envelope({"type": "message", "channel_type": "im", "channel": "D1", "text": "no user", "ts": "1.0"}),
        envelope({"type": "app_mention", "user": "U1", "text": "no channel", "ts": "1.0"}),
        envelope({"type": "app_mention", "user": "U1", "channel": "C1", "text": "no ts"}),
    ],
)
def test_malformed_events_are_bad_requests(body: bytes) -> None:
    with pytest.raises(BadRequest):
        read_event(body)


def test_a_message_without_text_reads_as_empty() -> None:
    message = read_event(envelope({"type": "message", "channel_type": "im", "user": "U1", "channel": "D1", "ts": "1.0"}))
    assert isinstance(message, SlackMessage) and message.text == ""


# Button clicks


def test_a_click_in_a_dm_is_the_buttons_payload_in_the_users_conversation() -> None:
    body = interaction(
        {"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "D1"}, "message": {"ts": "5.0"},
         "actions": [{"type": "button", "value": "/affirm"}]}
    )
    assert read_interaction(body) == SlackMessage("/affirm", "slack:U1", "D1", None, "U1")


def test_a_click_in_a_thread_continues_that_threads_conversation() -> None:
    body = interaction(
        {"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "C1"}, "message": {"ts": "5.0", "thread_ts": "4.0"},
         "actions": [{"type": "button", "value": "/deny"}]}
    )
    assert read_interaction(body) == SlackMessage("/deny", "slack:U1:C1:4.0", "C1", "4.0", "U1")


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "view_submission"},
        {"type": "block_actions", "actions": []},
        {"type": "block_actions", "actions": [{"type": "button", "url": "https://x.example"}]},
        {"type": "block_actions", "actions": [{"type": "static_select", "selected_option": {"value": "a"}}]},
    ],
)
def test_other_interactions_are_ignored(payload: dict[str, Any]) -> None:
    assert isinstance(read_interaction(interaction(payload)), Ignored)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"nothing=here",
        b"payload=%7B",
        b"payload=%5B%5D",
        b"\xff",
        interaction({"type": "block_actions", "actions": [{"type": "button", "value": "/x"}]}),
        interaction({"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "C1"},
                     "actions": [{"type": "button", "value": "/x"}]}),
    ],
)
def test_malformed_interactions_are_bad_requests(body: bytes) -> None:
    with pytest.raises(BadRequest):
        read_interaction(body)


# Text both ways


@pytest.mark.parametrize(
    "slack, plain",
    [
        ("<@UBOT> hi", "hi"),
        ("hi <@UBOT>, our site is slow", "hi , our site is slow"),
        ("ask <@U2|dana> about it", "ask @dana about it"),
        ("mail me at <mailto:dana@harbour.example|dana@harbour.example>", "mail me at dana@harbour.example"),
        ("see <https://harbour.example/shop|harbour.example>", "see harbour.example"),
        ("see <https://harbour.example/shop>", "see https://harbour.example/shop"),
        ("in <#C1|general> and <!here>", "in #general and @here"),
        ("a &lt;b&gt; &amp;amp; c", "a <b> &amp; c"),
    ],
)
def test_slack_markup_becomes_what_the_user_typed(slack: str, plain: str) -> None:
    assert to_plain_text(slack, BOT) == plain


def test_replies_become_slack_mrkdwn() -> None:
    assert to_mrkdwn("**Why pages crawl** <fast> & more\nRead: https://x.example/a") == (
        "*Why pages crawl* &lt;fast&gt; &amp; more\nRead: https://x.example/a"
    )


# Buttons


def buttons(count: int) -> list[dict[str, str]]:
    return [{"title": f"Choice {n}", "payload": f"/choose{n}"} for n in range(1, count + 1)]


def test_buttons_become_a_block_kit_actions_block() -> None:
    message = button_message("Did that help?", [{"title": "Yes", "payload": "/feedback_helpful"}, {"title": "No", "payload": "/not_helpful"}])
    section, actions = message["blocks"]
    assert section == {"type": "section", "text": {"type": "mrkdwn", "text": "Did that help?"}}
    assert [(e["type"], e["text"]["text"], e["value"]) for e in actions["elements"]] == [
        ("button", "Yes", "/feedback_helpful"),
        ("button", "No", "/not_helpful"),
    ]
    assert len({e["action_id"] for e in actions["elements"]}) == 2
    assert message["text"] == "Did that help?"


def test_five_buttons_stay_buttons() -> None:
    message = button_message("Pick one", buttons(5))
    assert len(message["blocks"][1]["elements"]) == 5
    assert "You can also reply with" not in message["text"]


def test_beyond_five_buttons_the_rest_become_text_lines() -> None:
    message = button_message("Pick one", buttons(7))
    section, actions = message["blocks"]
    assert [e["value"] for e in actions["elements"]] == [f"/choose{n}" for n in range(1, 6)]
    assert section["text"]["text"] == "Pick one\nYou can also reply with:\n• Choice 6\n• Choice 7"


def test_slacks_length_limits_are_respected() -> None:
    message = button_message("x" * 5000, [{"title": "t" * 100, "payload": "p" * 3000}])
    section, actions = message["blocks"]
    assert len(section["text"]["text"]) == 3000
    assert len(actions["elements"][0]["text"]["text"]) == 75
    assert len(actions["elements"][0]["value"]) == 2000


# The Slack app manifest


def test_the_app_manifest_matches_what_the_channel_handles() -> None:
    manifest = yaml.safe_load((PROJECT_HOME / "docs" / "slack-app-manifest.yml").read_text())
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"].endswith("/webhooks/slack/webhook")
    assert settings["interactivity"]["request_url"] == settings["event_subscriptions"]["request_url"]
    assert settings["interactivity"]["is_enabled"] is True
    # The reps' side of a live handoff adds thread replies in the sales channel and users.info.
    assert sorted(settings["event_subscriptions"]["bot_events"]) == [
        "app_mention", "message.channels", "message.groups", "message.im"]
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read", "channels:history", "chat:write", "groups:history", "im:history", "users:read"]


# The reps' side of a live handoff


def test_handoff_buttons_are_clicks_for_the_relay_not_messages() -> None:
    payload = {"type": "block_actions", "user": {"id": "UDANA"}, "channel": {"id": "CSALES"}, "message": {"ts": "1.0"},
               "actions": [{"type": "button", "action_id": "lantern-handoff-take", "value": "12"}]}
    assert read_interaction(interaction(payload)) == HandoffClick("lantern-handoff-take", 12, "UDANA", "CSALES")
    payload["actions"][0]["value"] = "12; drop table"
    with pytest.raises(BadRequest):
        read_interaction(interaction(payload))


def test_thread_replies_in_the_sales_channel_are_for_the_relay_and_nowhere_else() -> None:
    reply = {"type": "message", "channel_type": "channel", "channel": "CSALES", "user": "UDANA", "text": "Hi &amp; welcome",
             "ts": "2.0", "thread_ts": "1.0"}
    assert read_event(envelope(reply, "Ev9"), sales_channel="CSALES") == ThreadReply("Hi & welcome", "UDANA", "CSALES", "1.0", "Ev9")
    assert isinstance(read_event(envelope(reply)), Ignored)  # no live handoff configured
    assert isinstance(read_event(envelope({**reply, "channel": "COTHER"}), sales_channel="CSALES"), Ignored)
    assert isinstance(read_event(envelope({**reply, "bot_id": "B1"}), sales_channel="CSALES"), Ignored)  # our own relay
    mention = {**reply, "type": "app_mention"}
    assert isinstance(read_event(envelope(mention), sales_channel="CSALES"), Ignored)  # arrives as its message event too
