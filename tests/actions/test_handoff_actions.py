import asyncio

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.actions.handoff import ActionAffirmOrDeny, ActionCreateLead, ValidateLeadForm
from bot.actions.teach import ActionAnswerQuestion
from bot.conversation.discovery import SKIPPED
from bot.db import session_scope
from bot.models import ArticleFeedback, Lead, OutboxNotification
from bot.settings import load_settings
from tests.actions.conftest import bot_said, make_tracker, responses, run_action, with_db
from tests.conftest import PROJECT_HOME


def test_clear_intent_gets_an_answer_and_the_offer_in_the_same_reply(indexed_db: str) -> None:
    tracker = make_tracker("how much do you charge for seo work?", intent="ask_pricing")
    dispatcher, slots = run_action(ActionAnswerQuestion(settings=with_db(indexed_db)), tracker)
    said = responses(dispatcher)
    assert said[-1] == "utter_offer_handoff" and said.count("utter_offer_handoff") == 1
    assert slots["intent_level"] == "clear"
    assert slots["intent_evidence"] == "how much do you charge for seo work?"


def test_interest_gets_an_honest_answer_and_no_offer(indexed_db: str) -> None:
    tracker = make_tracker("do you do seo audits?", intent="ask_services")
    dispatcher, _ = run_action(ActionAnswerQuestion(settings=with_db(indexed_db)), tracker)
    assert "utter_offer_handoff" not in responses(dispatcher)
    shown = [m for m in dispatcher.messages if m.get("response") == "utter_article"]
    assert shown and "/services/pricing" not in shown[0]["url"]


def test_educational_sales_words_and_payloads_get_no_offer(indexed_db: str) -> None:
    for text, intent in [("what's the price of ignoring slow pages?", "ask_pricing"), ("/request_demo", "request_demo")]:
        dispatcher, slots = run_action(ActionAnswerQuestion(settings=with_db(indexed_db)), make_tracker(text, intent=intent, confidence=1.0))
        assert "utter_offer_handoff" not in responses(dispatcher)
        assert "intent_level" not in slots


def test_no_offer_once_the_visitor_is_already_a_lead(indexed_db: str) -> None:
    tracker = make_tracker("can i get a quote", intent="ask_pricing", slots={"lead_id": "3"})
    dispatcher, _ = run_action(ActionAnswerQuestion(settings=with_db(indexed_db)), tracker)
    assert "utter_offer_handoff" not in responses(dispatcher)
    assert "utter_already_a_lead" in responses(dispatcher)


def test_yes_to_the_offer_starts_the_form_and_no_is_respected() -> None:
    _, yes = run_action(ActionAffirmOrDeny(), make_tracker("yes", "affirm", events=[bot_said("utter_offer_handoff")]))
    assert yes["handoff_accepted"] is True
    dispatcher, no = run_action(ActionAffirmOrDeny(), make_tracker("no", "deny", events=[bot_said("utter_offer_handoff")]))
    assert no == {"handoff_accepted": False, "handoff_declined": True}
    assert responses(dispatcher) == ["utter_offer_declined"]


def test_a_no_to_the_offer_that_asks_to_buy_is_taken_as_a_yes(indexed_db: str) -> None:
    tracker = make_tracker("no call needed, but please send me a quote for managing our google ads", "deny",
                           events=[bot_said("utter_offer_handoff")])
    dispatcher, slots = run_action(ActionAffirmOrDeny(settings=with_db(indexed_db)), tracker)
    assert slots == {"handoff_accepted": True, "lead_cancelled": False}
    assert "utter_offer_declined" not in responses(dispatcher) and "utter_offer_handoff" not in responses(dispatcher)


def test_yes_to_did_that_help_is_feedback_not_a_handoff(indexed_db: str) -> None:
    tracker = make_tracker("yes", "affirm", slots={"current_article": "too-few-reviews"},
                           events=[bot_said("utter_ask_feedback")])
    dispatcher, slots = run_action(ActionAffirmOrDeny(settings=with_db(indexed_db)), tracker)
    assert slots["handoff_accepted"] is False
    assert responses(dispatcher) == ["utter_thanks_for_feedback"]
    with session_scope(indexed_db) as session:
        assert session.execute(select(ArticleFeedback.helpful)).scalars().all() == [True]


def test_yes_out_of_the_blue_asks_about_the_problem() -> None:
    dispatcher, slots = run_action(ActionAffirmOrDeny(), make_tracker("yes", "affirm", events=[bot_said("utter_greet")]))
    assert slots == {"handoff_accepted": False} and responses(dispatcher) == ["utter_what_problem"]


def validate(
    slot: str, text: str, intent: str = "describe_problem", confidence: float = 0.9
) -> tuple[dict, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, intent, slots={"requested_slot": slot}, active_loop="lead_form", confidence=confidence)
    result = asyncio.run(getattr(ValidateLeadForm(), f"validate_{slot}")(text, dispatcher, tracker, {}))
    return result, dispatcher


def test_a_bad_email_is_asked_again_with_the_reason() -> None:
    result, dispatcher = validate("lead_email", "dana at harbour foods")
    assert result == {"lead_email": None}
    assert "needs an @" in dispatcher.messages[0]["reason"]
    assert validate("lead_email", "Dana@Harbour.example")[0] == {"lead_email": "Dana@harbour.example"}


def test_company_is_optional_and_cancel_works_at_any_point() -> None:
    assert validate("lead_company", "skip", "skip")[0] == {"lead_company": SKIPPED}
    cancelled, _ = validate("lead_email", "actually, never mind")
    assert cancelled["lead_cancelled"] is True and cancelled["lead_email"] == SKIPPED


def test_a_weak_guess_at_goodbye_does_not_cancel_the_lead() -> None:
    # "a call" as the follow-up answer once came out of NLU as goodbye at 0.31.
    kept, _ = validate("lead_follow_up", "a call", "goodbye", confidence=0.31)
    assert kept == {"lead_follow_up": "call"}
    gone, _ = validate("lead_follow_up", "bye", "goodbye", confidence=0.95)
    assert gone["lead_cancelled"] is True


def test_consent_must_be_a_clear_yes() -> None:
    yes, _ = validate("lead_consent", "yes", "affirm")
    assert yes["lead_consent"] == "yes" and yes["lead_consent_at"]
    no, _ = validate("lead_consent", "no", "deny")
    assert no == {"lead_consent": SKIPPED, "lead_cancelled": True}


LEAD_SLOTS = {
    "problem": "our newsletter goes to spam",
    "symptoms": "open rates halved",
    "impact": "we lose repeat orders",
    "tried": SKIPPED,
    "shown_articles": ["emails-going-to-spam"],
    "intent_level": "clear",
    "intent_evidence": "can i get a quote for fixing this",
    "lead_name": "Dana Reyes",
    "lead_email": "dana@harbour.example",
    "lead_company": SKIPPED,
    "lead_follow_up": "call",
    "lead_consent": "yes",
    "lead_consent_at": "2026-11-26T10:00:00+00:00",
}


def test_the_lead_carries_the_brief_and_its_notification(indexed_db: str) -> None:
    settings = load_settings(
        environ={"LANTERN_DB_URL": indexed_db, "LANTERN_CRM_WEBHOOK_URL": "http://127.0.0.1:9/hook",
                 "LANTERN_BUSINESS_HOURS": "Mon-Sun 00:00-23:59", "LANTERN_TIMEZONE": "UTC"},
        home=PROJECT_HOME,
    )
    dispatcher, slots = run_action(ActionCreateLead(settings=settings), make_tracker("yes", "affirm", LEAD_SLOTS, sender_id="lead-1"))
    assert responses(dispatcher) == ["utter_lead_created"]
    assert "The team is in now" in dispatcher.messages[0]["expectation"]
    with session_scope(indexed_db) as session:
        lead = session.execute(select(Lead)).scalar_one()
        notes = session.execute(select(OutboxNotification)).scalars().all()
    assert slots["lead_id"] == str(lead.id)
    assert (lead.name, lead.email, lead.company, lead.follow_up) == ("Dana Reyes", "dana@harbour.example", None, "call")
    assert lead.consent_contact and lead.consent_storage and lead.consent_at.isoformat().startswith("2026-11-26T10:00")
    assert lead.intent_evidence == "can i get a quote for fixing this"
    assert lead.brief["problem"] == "our newsletter goes to spam"
    assert lead.brief["why_it_matters_to_them"] == "we lose repeat orders"
    assert lead.brief["already_tried"] is None
    assert [a["id"] for a in lead.brief["articles_read"]] == ["emails-going-to-spam"]
    assert [n.target for n in notes] == ["webhook"] and notes[0].status == "pending"


def test_a_cancelled_form_creates_nothing(indexed_db: str) -> None:
    settings = load_settings(environ={"LANTERN_DB_URL": indexed_db}, home=PROJECT_HOME)
    slots = {**LEAD_SLOTS, "lead_cancelled": True, "lead_consent": SKIPPED}
    dispatcher, _ = run_action(ActionCreateLead(settings=settings), make_tracker("cancel", "deny", slots))
    assert responses(dispatcher) == ["utter_handoff_cancelled"]
    with session_scope(indexed_db) as session:
        assert session.execute(select(Lead)).scalars().all() == []


def test_a_long_company_name_is_kept_trimmed() -> None:
    assert validate("lead_company", "Harbour  Foods " + "x" * 300)[0]["lead_company"] == ("Harbour Foods " + "x" * 300)[:150]
