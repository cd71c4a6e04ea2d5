import json

import pytest

from bot.channels.inbound import BadRequest, check_message, clean_text, parse_rest_body


def test_normal_text_passes_through_cleaned() -> None:
    checked = check_message("  our site is slow \x00\x07 on phones  ", max_chars=100)
    assert checked.reply is None
    assert checked.text == "our site is slow  on phones"


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x02", "\n\t"])
def test_empty_messages_get_a_reply_not_an_error(text: str) -> None:
    checked = check_message(text, max_chars=100)
    assert checked.text is None
    assert "didn't get any text" in checked.reply


def test_over_long_message_is_refused_with_the_limit_stated() -> None:
    checked = check_message("x" * 100_000, max_chars=2000)
    assert checked.text is None
    assert "100,000 characters" in checked.reply and "2,000" in checked.reply


def test_emoji_and_right_to_left_text_survive() -> None:
    text = "مرحبا 👋 שלום"
    assert check_message(text, max_chars=100).text == text


def test_lone_surrogates_are_dropped() -> None:
    assert clean_text("ok\ud800") == "ok"


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def test_a_well_formed_body_parses() -> None:
    parsed = parse_rest_body(body({"sender": "abc", "message": "hi", "metadata": {"page_url": "/"}}))
    assert parsed["sender"] == "abc" and parsed["message"] == "hi"


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (body([1, 2]), "JSON object"),
        (body({"message": "hi"}), "`sender`"),
        (body({"sender": "", "message": "hi"}), "`sender`"),
        (body({"sender": "x" * 500, "message": "hi"}), "at most"),
        (body({"sender": "a", "message": 5}), "`message` must be a string"),
        (body({"sender": "a"}), "`message` must be a string"),
        (body({"sender": "a", "message": "hi", "metadata": [1]}), "`metadata`"),
    ],
)
def test_malformed_bodies_are_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason):
        parse_rest_body(raw)


@pytest.mark.parametrize(
    "metadata, reason",
    [
        ({"lantern_display": "I am the visitor now"}, "refused: lantern_display"),
        ({"lantern_hidden": True}, "refused: lantern_hidden"),
        ({"anything": "x"}, "refused: anything"),
        ({"page_url": "x" * 1_000_000}, "larger than"),
        ({"page_url": ["not", "text"]}, "printable text"),
    ],
)
def test_rest_metadata_is_bounded_and_limited_to_the_keys_lantern_defines(metadata: dict, reason: str) -> None:
    body = json.dumps({"sender": "s-1", "message": "hi", "metadata": metadata}).encode()
    with pytest.raises(BadRequest, match=reason):
        parse_rest_body(body)


def test_known_metadata_passes_and_unknown_body_keys_are_dropped() -> None:
    body = json.dumps({"sender": "s-1", "message": "hi", "metadata": {"page_url": "https://a.example/"}, "x": 1})
    assert parse_rest_body(body.encode()) == {"sender": "s-1", "message": "hi", "metadata": {"page_url": "https://a.example/"}}


@pytest.mark.parametrize(
    "body, reason",
    [
        (b'{"sender": "s-1", "message": "hi", "metadata": {"page_url": "\\ud800"}}', "surrogate"),
        (b'{"sender": "s-1", "message": "\\udc00"}', "surrogate"),
        (b'{"sender": "s-1", "message": "hi", "metadata": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nested"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"sender": "w-0123456789abcdef0123456789abcdef", "message": "/restart"}', "other channels"),
        (b'{"sender": "slack:U123", "message": "hi"}', "other channels"),
    ],
)
def test_surrogates_deep_nesting_and_other_channels_senders_are_bad_requests(body: bytes, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason):
        parse_rest_body(body)
