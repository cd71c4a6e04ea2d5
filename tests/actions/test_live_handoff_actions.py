"""The lead form's live path in the actions: "Chat now" only while the team is in, and a
chosen "Chat now" posting the brief to the sales channel (a fake Slack Web API on loopback)
and pausing the bot."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from rasa_sdk.executor import CollectingDispatcher

from bot.actions.handoff import ActionAskLeadFollowUp, ActionCreateLead, ValidateLeadForm
from bot.handoff import live, live_messages
from bot.settings import Settings
from tests.actions.conftest import make_tracker, responses, run_action, with_db
from tests.e2e.fake_slack import running_fake_slack

ALWAYS = "Mon-Sun 00:00-23:59"
# Open only on the day after tomorrow: closed whenever the test runs.
_DAY_AFTER_TOMORROW = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%a")
NEVER_NOW = f"{_DAY_AFTER_TOMORROW} 09:00-17:00"


def live_settings(db_url: str, hours: str, slack_url: str = "http://127.0.0.1:9/api/") -> Settings:
    return replace(
        with_db(db_url), business_hours=hours, slack_bot_token="xoxb-test", slack_signing_secret="s",
        slack_api_url=slack_url, sales_channel="CSALES", handoff_wait_seconds=120,
    )


LEAD = {"lead_name": "Priya Shah", "lead_email": "priya@harbour.example", "lead_company": "Harbour Foods",
        "lead_follow_up": "chat now", "lead_consent": "yes", "lead_consent_at": "2026-12-01T10:00:00+00:00",
        "problem": "our newsletter lands in spam", "intent_evidence": "can i get a quote?"}


def test_outside_business_hours_chat_now_is_not_offered_and_the_return_is_named(sqlite_url: str) -> None:
    settings = live_settings(sqlite_url, NEVER_NOW)
    dispatcher, _ = run_action(ActionAskLeadFollowUp(settings), make_tracker("a@b.example"))
    (asked,) = dispatcher.messages
    assert asked["response"] == "utter_ask_lead_follow_up_team_out"
    assert asked["back"].endswith("at 09:00 (UTC)")  # e.g. "Thursday at 09:00 (UTC)"

    typed = make_tracker("chat now", slots={"requested_slot": "lead_follow_up"}, active_loop="lead_form")
    said = CollectingDispatcher()
    result = asyncio.run(ValidateLeadForm(settings).validate_lead_follow_up("chat now", said, typed, {}))
    assert result == {"lead_follow_up": None}  # asked again: email or a call
    assert responses(said) == ["utter_live_chat_team_out"]


def test_during_business_hours_or_without_live_chat_the_question_is_as_before(sqlite_url: str) -> None:
    for settings in (live_settings(sqlite_url, ALWAYS), replace(with_db(sqlite_url), business_hours=NEVER_NOW)):
        dispatcher, _ = run_action(ActionAskLeadFollowUp(settings), make_tracker("a@b.example"))
        assert responses(dispatcher) == ["utter_ask_lead_follow_up"]


def test_chat_now_posts_the_brief_with_a_take_button_and_pauses_the_bot(indexed_db: str) -> None:
    with running_fake_slack() as fake:
        settings = live_settings(indexed_db, ALWAYS, fake.url)
        tracker = make_tracker("yes", slots=LEAD, sender_id="visitor-live")
        dispatcher = CollectingDispatcher()
        events = asyncio.run(ActionCreateLead(settings).run(dispatcher, tracker, {}))
        (brief,) = fake.posts("CSALES")[:1]
        intro = fake.posts("CSALES")[1]
    assert responses(dispatcher) == ["utter_live_handoff_waiting"] and dispatcher.messages[0]["wait"] == "2 minutes"
    assert events[-1] == {"event": "pause", "timestamp": None}
    handoff = live.active_handoff(indexed_db, "visitor-live")
    assert handoff is not None and handoff.state == live.WAITING and handoff.slack_channel == "CSALES"
    take = brief["blocks"][-1]["elements"][0]
    assert (take["action_id"], take["value"]) == (live_messages.TAKE, str(handoff.id))
    assert "Priya Shah" in brief["text"] and "our newsletter lands in spam" in str(brief["blocks"])
    assert intro["text"] == live_messages.THREAD_INTRO and "thread_ts" in intro


def test_when_slack_is_unreachable_the_lead_stands_and_the_visitor_is_promised_email(indexed_db: str) -> None:
    settings = live_settings(indexed_db, ALWAYS)  # port 9: nothing listens
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionCreateLead(settings).run(dispatcher, make_tracker("yes", slots=LEAD, sender_id="v-x"), {}))
    assert responses(dispatcher) == ["utter_lead_created"]
    assert "email you" in dispatcher.messages[0]["expectation"]
    assert all(e.get("event") != "pause" for e in events)
    assert live.active_handoff(indexed_db, "v-x") is None
    assert live.list_handoffs(indexed_db)[0].end_reason == "unreachable"
