"""Every action run notes its conversation and what the turn showed, for the dashboard."""

from __future__ import annotations

from sqlalchemy import select

from bot.actions.teach import ActionAnswerQuestion, ActionReflectAndTeach, ActionTellMore, ActionWhatElse
from bot.conversation.discovery import SKIPPED
from bot.db import session_scope
from bot.models import InsightConversation, InsightSignal
from tests.actions.conftest import make_tracker, run_action, with_db


def _signals(db_url: str, conversation_id: str) -> list[tuple[str, str | None, str | None, str | None]]:
    with session_scope(db_url) as session:
        rows = session.execute(
            select(InsightSignal.kind, InsightSignal.topic, InsightSignal.article_id, InsightSignal.text)
            .where(InsightSignal.conversation_id == conversation_id).order_by(InsightSignal.id)
        ).all()
    return [tuple(row) for row in rows]


def test_each_turn_notes_its_conversation_and_signals(indexed_db: str) -> None:
    slots = {"problem": "our newsletter keeps landing in spam", "symptoms": "x", "impact": "we lose repeat orders", "tried": SKIPPED}
    run_action(ActionReflectAndTeach(settings=with_db(indexed_db)), make_tracker("no", slots=slots, sender_id="demo-1"))
    found = _signals(indexed_db, "demo-1")
    assert found[0] == ("problem", "email-marketing", None, "our newsletter keeps landing in spam")
    assert found[1] == ("discovery", None, None, "we lose repeat orders")
    assert found[2][:3] == ("shown", "email-marketing", "emails-going-to-spam")
    with session_scope(indexed_db) as session:
        conversation = session.get(InsightConversation, "demo-1")
        assert conversation is not None and conversation.is_demo

    # Reading on, a related problem and a direct question nobody answers are told apart
    # (one test: indexing the knowledge base is the slow part).
    settings = with_db(indexed_db)
    on_spam = {"current_article": "emails-going-to-spam", "shown_articles": ["emails-going-to-spam"]}
    run_action(ActionTellMore(settings=settings), make_tracker("tell me more", intent="tell_more", slots=on_spam, sender_id="v2"))
    run_action(ActionWhatElse(settings=settings), make_tracker("what else", intent="what_else", slots=on_spam, sender_id="v2"))
    run_action(ActionAnswerQuestion(settings=settings), make_tracker("how do i fix a leaking tap?", intent="ask_question", sender_id="v2"))
    kinds = [kind for kind, *_ in _signals(indexed_db, "v2")]
    assert kinds[0] == "read_on" and kinds[1] in ("related", "shown")
    assert kinds[-2:] == ["question", "gap"]
    with session_scope(indexed_db) as session:
        conversation = session.get(InsightConversation, "v2")
        assert conversation is not None and not conversation.is_demo
