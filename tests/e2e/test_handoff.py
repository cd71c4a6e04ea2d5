"""The sales handoff end to end: REST channel, real servers, the delivery worker and a real
HTTP receiver playing the CRM."""

import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.evaluation.stack import running_stack
from bot.rasa_integration.training import train_if_changed
from tests.handoff.receiver import running_receiver

pytestmark = pytest.mark.slow


def test_clear_intent_to_lead_to_delivered_brief(project_settings, tmp_path: Path) -> None:
    train_if_changed(project_settings)
    with running_receiver(secret="e2e-secret") as receiver, running_stack(
        tmp_path,
        extra_env={"LANTERN_CRM_WEBHOOK_URL": receiver.url, "LANTERN_CRM_WEBHOOK_SECRET": "e2e-secret",
                   "LANTERN_BUSINESS_HOURS": "Mon-Sun 00:00-23:59"},
        with_worker=True,
    ) as stack:
        visitor = "buyer-1"
        stack.texts(visitor, "hi")
        stack.texts(visitor, "our newsletter keeps landing in spam")
        stack.texts(visitor, "open rates halved since march")
        stack.texts(visitor, "we lose repeat orders")
        taught = stack.texts(visitor, "we tried changing the subject lines")
        assert "Would you like me to put you in touch" not in taught  # no intent, no offer
        offer = stack.say(visitor, "ok, can i get a quote for fixing this?")
        assert "Would you like me to put you in touch" in offer[-1]["text"]
        assert [b["payload"] for b in offer[-1]["buttons"]] == ["/affirm", "/deny"]
        assert "What's your name" in stack.texts(visitor, "yes please")
        assert "Which work email" in stack.texts(visitor, "Dana Reyes")
        assert "needs an @" in stack.texts(visitor, "dana at harbour")
        assert "Which company" in stack.texts(visitor, "dana@harbourfoods.example")
        assert "How would you like them to follow up" in stack.texts(visitor, "Harbour Foods")
        assert "may the team contact you" in stack.texts(visitor, "a call")
        done = stack.texts(visitor, "yes")
        assert "you're all set" in done and "The team is in now" in done

        deadline = time.monotonic() + 30
        while receiver.unique_deliveries < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert receiver.unique_deliveries == 1 and receiver.bad_signatures == 0
        (payload,) = receiver.accepted.values()
        brief = payload["brief"]
        assert payload["conversation_id"] == visitor and payload["channel"] == "rest"
        assert payload["contact"] == {"name": "Dana Reyes", "email": "dana@harbourfoods.example",
                                      "company": "Harbour Foods", "follow_up": "call"}
        assert payload["intent"]["evidence"] == "ok, can i get a quote for fixing this?"
        assert brief["problem"] == "our newsletter keeps landing in spam"
        assert brief["why_it_matters_to_them"] == "we lose repeat orders"
        assert brief["already_tried"] == "we tried changing the subject lines"
        assert "emails-going-to-spam" in [a["id"] for a in brief["articles_read"]]

        assert "already in touch" in stack.texts(visitor, "how much would a full seo audit cost?")

    engine = create_engine(stack.settings.db_url, future=True)
    with engine.connect() as connection:
        status = connection.execute(text("select status from notification_outbox")).scalars().all()
    engine.dispose()
    assert status == ["delivered"]


def test_a_declined_offer_is_never_repeated_unasked(project_settings, tmp_path: Path) -> None:
    train_if_changed(project_settings)
    with running_stack(tmp_path) as stack:
        visitor = "decliner-1"
        # What follows a decline is under test here, so the opening request is one far above the
        # greeting's threshold ("can i book a demo?" sits just over it: README, limitations).
        assert "put you in touch" in stack.texts(visitor, "i'd like to book a demo with your team")
        assert "No problem" in stack.texts(visitor, "no thanks")
        for message in ["how do we get more reviews on google", "our site is slow on phones", "skip",
                        "just show me", "tell me more", "yes"]:
            assert "put you in touch" not in stack.texts(visitor, message), message
        assert "put you in touch" in stack.texts(visitor, "actually, i'd like to talk to sales")
