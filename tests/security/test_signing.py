from datetime import datetime, timedelta, timezone

from bot.security.signing import (
    new_widget_session,
    read_transcript_token,
    transcript_token,
    widget_token,
    widget_token_valid,
)

KEY = b"k" * 32
NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def test_a_widget_session_opens_only_with_its_own_token_and_key() -> None:
    session_id, token = new_widget_session(KEY)
    assert session_id.startswith("w-") and widget_token_valid(KEY, session_id, token)
    other, _ = new_widget_session(KEY)
    assert not widget_token_valid(KEY, other, token)
    assert not widget_token_valid(b"another key", session_id, token)
    assert not widget_token_valid(KEY, "rest-sender", widget_token(KEY, "rest-sender"))  # not a widget id
    assert not widget_token_valid(KEY, session_id, None)


def test_a_transcript_token_opens_one_conversation_until_it_expires() -> None:
    token = transcript_token(KEY, "w-abc", NOW + timedelta(hours=72))
    assert "w-abc" not in token
    assert read_transcript_token(KEY, token, now=NOW) == "w-abc"
    assert read_transcript_token(KEY, token, now=NOW + timedelta(hours=73)) is None
    assert read_transcript_token(b"other", token, now=NOW) is None
    forged = token.replace(token.split(".")[1], str(int((NOW + timedelta(days=999)).timestamp())))
    assert read_transcript_token(KEY, forged, now=NOW) is None
    assert read_transcript_token(KEY, "nonsense", now=NOW) is None
    # a widget session token is not a transcript token
    assert read_transcript_token(KEY, widget_token(KEY, "w-abc"), now=NOW) is None
