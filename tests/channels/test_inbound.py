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
    parsed = parse_rest_body(body({"sender": "abc", "message": "hi", "metadata": {"page": "/"}}))
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
