import pytest

from bot.conversation.intent_gate import assess_buying_intent
from bot.knowledge.search import IntentLevel

CLEAR = [
    "how much do you charge for seo?",
    "what are your prices for managing google ads",
    "can i get a quote for a website audit",
    "could you send me a proposal",
    "can i book a demo",
    "do you offer a free trial",
    "i'd like to talk to sales",
    "can someone from your team call me",
    "we're ready to hire you",
    "ok let's get started",
    "we want to sign a contract",
    "our traffic is down. honestly we're ready to hire an agency to fix it, how do we start?",
    "whats your pricing",
    "put me in touch with a sales rep please",
]
NOT_CLEAR = [
    "not ready to buy, just researching",
    "what's the price of ignoring slow pages?",
    "what does demo mean?",
    "how much does bad seo cost me in lost sales?",
    "if we ever hire someone, what should we look for",
    "i don't want a quote, i just want to understand the problem",
    "our pricing page gets no visits",
    "nobody visits our website",
    "how do i get more reviews",
    "what is a proposal?",
    "/request_demo",
    '/ask_pricing{"plan": "gold"}',
    "maybe later we'll hire someone, one day",
    "just browsing, no sales call please",
]
INTEREST = [
    "do you do seo audits?",
    "can you help with facebook ads",
    "what services do you offer",
    "do you work with small businesses",
]


@pytest.mark.parametrize("text", CLEAR)
def test_clear_buying_intent_is_recognised_with_the_visitors_words(text: str) -> None:
    assessment = assess_buying_intent(text)
    assert assessment.level is IntentLevel.CLEAR, assessment
    assert assessment.evidence and assessment.evidence in text


@pytest.mark.parametrize("text", NOT_CLEAR)
def test_negations_hypotheticals_education_and_payloads_are_not_clear(text: str) -> None:
    assert assess_buying_intent(text, nlu_intent="ask_pricing", nlu_confidence=0.99).level is not IntentLevel.CLEAR


@pytest.mark.parametrize("text", INTEREST)
def test_interest_in_services_is_interest_only(text: str) -> None:
    assessment = assess_buying_intent(text, nlu_intent="ask_services", nlu_confidence=0.9)
    assert assessment.level is IntentLevel.INTEREST and assessment.evidence


def test_a_payload_alone_never_decides_intent() -> None:
    assessment = assess_buying_intent("/ready_to_buy", nlu_intent="ready_to_buy", nlu_confidence=1.0)
    assert assessment.level is IntentLevel.NONE and "payload" in assessment.reason


def test_nlu_buying_intent_counts_only_after_interest_earlier_in_the_conversation() -> None:
    alone = assess_buying_intent("yes please, go for it", nlu_intent="ready_to_buy", nlu_confidence=0.9)
    assert alone.level is not IntentLevel.CLEAR
    after = assess_buying_intent(
        "yes please, go for it", nlu_intent="ready_to_buy", nlu_confidence=0.9,
        earlier_messages=["do you do seo audits?"],
    )
    assert after.level is IntentLevel.CLEAR


@pytest.mark.parametrize(
    "text",
    [
        "can i book a call with your team to talk about working together?",
        "can i book a call with your ppc team to talk pricing",
        "what would it cost to have your team do a speed optimisation project",
        "can you send over a proposal for setting up analytics?",
        "do you offer free consultations",
        "my number is below, have sales call me",
        "ballpark figure for managing our email marketing",
        "schedule a strategy session with us",
        "id like to discuss our marketing with one of your consultants",
    ],
)
def test_more_ways_of_asking_to_buy(text: str) -> None:
    assert assess_buying_intent(text).level is IntentLevel.CLEAR


def test_starting_to_learn_is_not_starting_to_buy() -> None:
    assert assess_buying_intent("what about keyword research, how do i start").level is IntentLevel.NONE


def test_someone_elses_wish_is_not_the_visitors_intent() -> None:
    text = "my cofounder wants to book a consultation with some agency but i think we can fix it ourselves"
    assert assess_buying_intent(text).level is not IntentLevel.CLEAR
