"""Buying intent end to end, through the REST channel of real servers: the cases that used to go
wrong (issue 12), and every button of every question answered as the answer it names."""

from __future__ import annotations

from typing import Iterator

import pytest
import yaml

from bot.evaluation.stack import PROJECT_HOME, Stack, running_stack
from bot.rasa_integration.training import train_if_changed

pytestmark = pytest.mark.slow
OFFER = "Would you like me to put you in touch"
ALWAYS_OPEN = {"LANTERN_BUSINESS_HOURS": "Mon-Sun 00:00-23:59"}


@pytest.fixture(scope="module")
def stack(project_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    train_if_changed(project_settings)
    with running_stack(tmp_path_factory.mktemp("intent"), extra_env=ALWAYS_OPEN) as running:
        yield running


def buttons(response: str) -> list[dict]:
    domain = yaml.safe_load((PROJECT_HOME / "domain.yml").read_text())
    return domain["responses"][response][0]["buttons"]


def test_a_problem_that_mentions_sales_is_taught_not_sold(stack: Stack) -> None:
    first = stack.texts("sales-words", "our sales team keeps complaining that the leads from marketing are junk")
    assert OFFER not in first
    assert "What are you seeing exactly" in first  # discovery, like any other problem
    for answer in ["since last quarter, they say half are students", "wasted calls", "nothing yet"]:
        reply = stack.texts("sales-words", answer)
        assert OFFER not in reply
    assert "sales-says-leads-are-bad" in reply or "leads" in reply.lower()


def test_buying_something_the_company_does_not_sell_gets_what_it_does(stack: Stack) -> None:
    reply = stack.texts("laptop", "I want to buy a new laptop, which one is best for video editing?")
    assert OFFER not in reply
    assert "not something we sell" in reply and "search engine optimisation" in reply


@pytest.mark.parametrize("message", ["schedule a meeting room for 4:00", "how much are the taxes on my income"])
def test_ordinary_assistant_requests_get_no_offer(stack: Stack, message: str) -> None:
    assert OFFER not in stack.texts(f"assistant-{hash(message)}", message)


def test_a_buying_request_in_the_middle_of_discovery_is_offered_at_once(stack: Stack) -> None:
    visitor = "mid-discovery"
    assert "What are you seeing" in stack.texts(visitor, "we barely show up on google for our own services")
    assert "What does it cost you" in stack.texts(visitor, "page three at best, for about a year")
    reply = stack.say(visitor, "honestly, can you do an seo audit for us? what would that cost?")
    assert OFFER in reply[-1]["text"]
    tracker = stack.tracker(visitor)
    assert tracker["slots"]["symptoms"] == "page three at best, for about a year"  # kept for the brief
    assert "audit" in tracker["slots"]["intent_evidence"]


def lead_form_until_follow_up(stack: Stack, visitor: str) -> None:
    assert OFFER in stack.texts(visitor, "we'd like to hire you for our google ads, how do we start?")
    assert "What's your name" in stack.texts(visitor, "/affirm")
    assert "Which work email" in stack.texts(visitor, "Sam Okafor")
    assert "Which company" in stack.texts(visitor, "sam@okafor-builders.example")
    assert "How would you like them to follow up" in stack.texts(visitor, "skip")


@pytest.mark.parametrize("said", ["title", "payload"])
@pytest.mark.parametrize("number", range(3))
def test_every_follow_up_button_is_taken_as_its_answer(stack: Stack, number: int, said: str) -> None:
    button = buttons("utter_ask_lead_follow_up")[number]
    visitor = f"follow-up-{number}-{said}"
    lead_form_until_follow_up(stack, visitor)
    assert "may the team contact you" in stack.texts(visitor, button[said])
    done = stack.texts(visitor, buttons("utter_ask_lead_consent")[0]["payload"])
    assert "you're all set" in done
    assert stack.tracker(visitor)["slots"]["lead_id"]


def test_chat_now_keeps_the_lead(stack: Stack) -> None:
    visitor = "chat-now"
    lead_form_until_follow_up(stack, visitor)
    assert "may the team contact you" in stack.texts(visitor, "Chat now")
    assert "you're all set" in stack.texts(visitor, "Yes, that's fine")
    assert stack.tracker(visitor)["slots"]["lead_follow_up"] == "chat now"


@pytest.mark.parametrize("said", ["title", "payload"])
def test_the_consent_buttons_are_their_answers(stack: Stack, said: str) -> None:
    yes, no = buttons("utter_ask_lead_consent")
    for button, expected in ((yes, "you're all set"), (no, "nothing's been sent")):
        visitor = f"consent-{said}-{expected[:5]}"
        lead_form_until_follow_up(stack, visitor)
        stack.texts(visitor, "Email")
        assert expected in stack.texts(visitor, button[said])


@pytest.mark.parametrize("said", ["title", "payload"])
def test_the_offer_buttons_are_their_answers(stack: Stack, said: str) -> None:
    yes, no = buttons("utter_offer_handoff")
    assert OFFER in stack.texts(f"offer-yes-{said}", "could you send me a quote for managing our social media?")
    assert "What's your name" in stack.texts(f"offer-yes-{said}", yes[said])
    assert OFFER in stack.texts(f"offer-no-{said}", "could you send me a quote for managing our social media?")
    assert "No problem" in stack.texts(f"offer-no-{said}", no[said])


@pytest.mark.parametrize("said", ["title", "payload"])
def test_the_feedback_buttons_are_their_answers(stack: Stack, said: str) -> None:
    helped, not_helped = buttons("utter_ask_feedback")
    for button, expected in ((helped, "Thanks, that helps"), (not_helped, "different angle")):
        visitor = f"feedback-{said}-{expected[:5]}"
        stack.texts(visitor, "why do my emails go to spam")
        reply = stack.texts(visitor, button[said])
        assert expected in reply, reply
