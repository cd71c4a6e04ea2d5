import json

import pytest

from bot.channels.widget_protocol import (
    ArticleCard,
    BadFrame,
    Button,
    Hello,
    VisitorMessage,
    messages_from_events,
    parse_client_frame,
)

SESSION = "0b0c6f0e-8d8e-4a5e-9d55-0f3c1a2b3c4d"


def test_hello_and_message_frames_parse() -> None:
    assert parse_client_frame(json.dumps({"type": "hello", "session_id": SESSION, "after": 4})) == Hello(SESSION, after=4)
    assert parse_client_frame(json.dumps({"type": "hello", "session_id": SESSION})) == Hello(SESSION)
    frame = parse_client_frame(
        json.dumps({"type": "message", "id": "m-12345678", "text": "hi", "display": "Yes, it helped", "hidden": True})
    )
    assert frame == VisitorMessage("m-12345678", "hi", "Yes, it helped", True)


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"\xff\xfe", "UTF-8"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"type": "shout"}), "'type'"),
        (json.dumps({"type": "hello", "session_id": "short"}), "session_id"),
        (json.dumps({"type": "hello", "session_id": "../../etc/passwd-xx"}), "session_id"),
        (json.dumps({"type": "hello", "session_id": SESSION, "after": "3"}), "after"),
        (json.dumps({"type": "hello", "session_id": SESSION, "after": True}), "after"),
        (json.dumps({"type": "message", "id": "m-12345678", "text": 5}), "'text'"),
        (json.dumps({"type": "message", "text": "hi"}), "'id'"),
        (json.dumps({"type": "message", "id": "m-12345678", "text": "hi", "display": ["x"]}), "display"),
    ],
)
def test_bad_frames_are_refused_with_a_reason(raw, reason: str) -> None:
    with pytest.raises(BadFrame, match=reason):
        parse_client_frame(raw)


def _events() -> list[dict]:
    return [
        {"event": "action", "name": "action_session_start"},
        {"event": "user", "text": "/greet", "message_id": "hidden-greet", "metadata": {"lantern_hidden": True}},
        {"event": "bot", "text": "Hi! What are you trying to fix?"},
        {"event": "user", "text": "our emails go to spam", "message_id": "m-00000001"},
        {"event": "slot", "name": "problem", "value": "x"},
        {
            "event": "bot",
            "text": "Why it matters: <b>trust</b>",
            "data": {
                "custom": {"type": "article_card", "title": "Emails in spam", "summary": "SPF first.", "url": "https://copperleaf.example/learn/spam"},
                "buttons": [{"title": "Yes, it helped", "payload": "/feedback_helpful"}, {"title": "", "payload": "/x"}],
            },
        },
        {"event": "user", "text": "/feedback_helpful", "message_id": "m-00000002", "metadata": {"lantern_display": "Yes, it helped"}},
    ]


def test_history_numbers_every_message_and_hides_hidden_ones() -> None:
    messages = messages_from_events(_events())
    assert [m.seq for m in messages] == [1, 2, 3, 4]  # seq 0 is the hidden greeting request
    assert [m.sender for m in messages] == ["bot", "visitor", "bot", "visitor"]
    assert messages[1].id == "m-00000001"
    assert messages[3].text == "Yes, it helped"  # a button click shows its title, not the payload


def test_history_carries_cards_and_buttons_but_no_malformed_ones() -> None:
    card_message = messages_from_events(_events())[2]
    assert card_message.card == ArticleCard("Emails in spam", "SPF first.", "https://copperleaf.example/learn/spam")
    assert card_message.buttons == [Button("Yes, it helped", "/feedback_helpful")]
    assert card_message.text == "Why it matters: <b>trust</b>"  # escaping is the browser's job: text stays text
    frame = card_message.to_frame()
    assert "id" not in frame and frame["card"]["url"].startswith("https://")


@pytest.mark.parametrize(
    "custom",
    [
        {"type": "article_card", "title": "x", "summary": "y", "url": "javascript:alert(1)"},
        {"type": "article_card", "title": "x", "summary": "y", "url": "https://ok.example/\"onmouseover=1"},
        {"type": "article_card", "title": 3, "summary": "y", "url": "https://ok.example"},
        {"type": "something_else"},
        "not a dict",
    ],
)
def test_unsafe_or_malformed_cards_are_dropped(custom) -> None:
    [message] = messages_from_events([{"event": "bot", "text": "t", "data": {"custom": custom}}])
    assert message.card is None


def test_live_handoff_messages_say_who_wrote_them_and_who_is_talking() -> None:
    dana = {"id": "U1", "name": "Dana"}
    events = [
        {"event": "bot", "text": "Dana from Copperleaf Digital joined.", "metadata": {"lantern_handoff": "joined", "lantern_rep": dana}},
        {"event": "bot", "text": "Hi, Dana here.", "metadata": {"lantern_rep": dana}},
        {"event": "bot", "text": "Lantern is back.", "metadata": {"lantern_handoff": "back"}},
        {"event": "bot", "text": "odd", "metadata": {"lantern_handoff": "<script>", "lantern_rep": "Dana"}},
    ]
    frames = [m.to_frame() for m in messages_from_events(events)]
    assert [(f.get("rep"), f.get("notice")) for f in frames] == [("Dana", "joined"), ("Dana", None), (None, "back"), (None, None)]
def test_a_tab_without_a_conversation_says_hello_without_one_and_tokens_are_checked_for_shape() -> None:
    assert parse_client_frame('{"type": "hello"}') == Hello()
    token = "A" * 43
    assert parse_client_frame(json.dumps({"type": "hello", "session_id": SESSION, "token": token})) == Hello(SESSION, token)
    with pytest.raises(BadFrame, match="token"):
        parse_client_frame(json.dumps({"type": "hello", "session_id": SESSION, "token": "<script>"}))


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "message", "id": "m-12345678", "text": "hi", "display": "\\ud800"}',
        '{"type": "message", "id": "m-12345678", "text": "\\udfff hi"}',
    ],
)
def test_a_lone_surrogate_is_refused_at_the_door(raw: str) -> None:
    with pytest.raises(BadFrame, match="surrogate"):
        parse_client_frame(raw)


def test_deeply_nested_and_oversized_frames_are_refused_not_crashed_on() -> None:
    with pytest.raises(BadFrame, match="nested"):
        parse_client_frame("[" * 10_000 + "]" * 10_000)
    with pytest.raises(BadFrame, match="longer"):
        parse_client_frame(json.dumps({"type": "message", "id": "m-12345678", "text": "x" * 40_000}))


def test_a_surrogate_stored_before_the_fix_no_longer_breaks_the_history() -> None:
    from bot.channels.widget_protocol import encode

    events = [{"event": "user", "text": "hi", "metadata": {"lantern_display": "bad \ud800 char"}},
              {"event": "bot", "text": "ok \udfff"}]
    frame = encode("messages", messages=[m.to_frame() for m in messages_from_events(events)])
    frame.encode("utf-8")  # what the WebSocket does with every frame; raised UnicodeEncodeError before
    assert "bad ? char" in json.loads(frame)["messages"][0]["text"]
