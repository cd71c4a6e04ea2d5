"""The learned buying-intent assessment: its parts, and the served model on messages it must get right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.conversation.buying_intent import (
    BotPrompt,
    DialogueContext,
    LabelledMessage,
    Offerings,
    context_balanced_weights,
    corpus_fingerprint,
    is_payload,
    label_of,
    load_corpus,
    read_corpus_file,
    sentences,
    spans,
    without_quotations,
)
from bot.conversation.intent_model import MAX_FALSE_OFFER_RATE, HeldOut, model_fingerprint, read_tuning, served_model, training_offerings
from bot.knowledge.embeddings import shared_encoder
from bot.knowledge.search import IntentLevel
from bot.settings import Settings

CLEAR = [
    "how much do you charge for seo?",
    "what are your prices for managing google ads",
    "can i get a quote for a website audit",
    "could you send me a proposal",
    "can i book a demo with your team",
    "i'd like to talk to sales",
    "can someone from your team call me",
    "we're ready to hire you",
    "our traffic is down. honestly we're ready to hire an agency to fix it, how do we start?",
    "whats your pricing",
    "put me in touch with a sales rep please",
    "we need an seo audit, how much would you charge for one?",
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
    "our sales team keeps complaining that the leads from marketing are junk",
    "schedule a meeting room for 4:00",
    "how much are the taxes on my income",
    "how should i price my consulting packages?",
    "/request_demo",
    '/ask_pricing{"plan": "gold"}',
]
INTEREST = [
    "do you do seo audits?",
    "what services do you offer",
    "do you work with small businesses",
]


@pytest.fixture(scope="module")
def model(project_settings: Settings):  # type: ignore[no-untyped-def]
    return served_model(project_settings.models_dir)


@pytest.fixture(scope="module")
def offerings() -> Offerings:
    return training_offerings()


def assess(model, offerings, text: str, context: DialogueContext = DialogueContext()):  # type: ignore[no-untyped-def]
    return model.assess(text, context, shared_encoder(), offerings)


@pytest.mark.parametrize("text", CLEAR)
def test_clear_buying_intent_is_recognised_with_the_visitors_words(model, offerings, text: str) -> None:  # type: ignore[no-untyped-def]
    assessment = assess(model, offerings, text)
    assert assessment.level is IntentLevel.CLEAR, assessment
    assert assessment.evidence and assessment.evidence in text
    assert assessment.probability >= model.threshold_for(DialogueContext())


@pytest.mark.parametrize("text", NOT_CLEAR)
def test_sales_words_without_buying_intent_are_not_clear(model, offerings, text: str) -> None:  # type: ignore[no-untyped-def]
    assert assess(model, offerings, text).level is not IntentLevel.CLEAR


@pytest.mark.parametrize("text", INTEREST)
def test_questions_about_services_are_interest(model, offerings, text: str) -> None:  # type: ignore[no-untyped-def]
    assert assess(model, offerings, text).level is IntentLevel.INTEREST


def test_buying_something_the_company_does_not_sell_is_flagged(model, offerings) -> None:  # type: ignore[no-untyped-def]
    assessment = assess(model, offerings, "I want to buy a new laptop, which one is best for video editing?")
    assert assessment.level is IntentLevel.NONE and assessment.buys_elsewhere


def test_a_buying_request_mid_discovery_is_clear(model, offerings) -> None:  # type: ignore[no-untyped-def]
    context = DialogueContext(BotPrompt.ASK_TRIED)
    assessment = assess(model, offerings, "nothing yet. can you do an audit for us and what would it cost?", context)
    assert assessment.is_clear


def test_evidence_is_the_sentence_that_asks(model, offerings) -> None:  # type: ignore[no-untyped-def]
    text = "Our blog gets no readers at all. We post every week. Can you send me a quote for a content plan?"
    assessment = assess(model, offerings, text)
    assert assessment.is_clear
    assert assessment.evidence == "Can you send me a quote for a content plan?"


def test_a_typed_payload_is_never_intent(model, offerings) -> None:  # type: ignore[no-untyped-def]
    assert is_payload("  /request_demo")
    assert assess(model, offerings, "/request_sales_contact").probability == 0.0


def test_sentences_split_on_end_marks_and_keep_a_single_one_whole() -> None:
    assert sentences("one. two? three!") == ["one.", "two?", "three!"]
    assert sentences("no end mark") == ["no end mark"]


def test_spans_are_the_sentences_then_each_two_neighbours_together() -> None:
    assert spans("one. two? three!") == ["one.", "two?", "three!", "one. two?", "two? three!"]
    assert spans("no end mark") == ["no end mark"]


def test_quotations_are_someone_elses_words_short_quoted_terms_and_apostrophes_stay() -> None:
    assert without_quotations("Repeat after me: 'I want to hire Copperleaf for SEO'") == "Repeat after me:  a quotation "
    assert without_quotations('my client wrote "just send us your rates" - how do I reply?') == (
        "my client wrote  a quotation  - how do I reply?")
    assert without_quotations("can you quote for the 'starter' package? we're ready") is None
    assert without_quotations("what's your price? we're a bakery and it's urgent") is None


def test_other_purchases_train_their_own_class_and_unknown_labels_are_refused() -> None:
    assert label_of("none", "other_purchase") == "elsewhere"
    assert label_of("clear", "clear_quote") == "clear"
    with pytest.raises(ValueError):
        label_of("maybe", "")


def test_a_corpus_file_with_a_bad_item_names_the_file_and_item(tmp_path: Path) -> None:
    path = tmp_path / "w9-part-01.yml"
    path.write_text('- {text: "hi", label: none, bot_prompt: greeting}\n- {text: "x", label: none, bot_prompt: nowhere}\n')
    with pytest.raises(ValueError, match="item 1"):
        read_corpus_file(path, "w9")


def test_the_corpus_is_large_varied_and_by_several_writers() -> None:
    corpus = load_corpus()
    assert len(corpus) >= 4000
    assert len({m.writer for m in corpus}) >= 3
    topics = {m.topic for m in corpus}
    assert {"website-traffic", "seo", "content-marketing", "social-media", "conversion", "email-marketing",
            "lead-nurturing", "analytics", "reviews-ugc", "paid-ads", "mobile-speed",
            "sales-marketing-alignment", "off-domain"} <= topics
    categories = {m.category for m in corpus}
    assert {"sales_words_in_problem", "own_pricing_or_sales", "other_purchase", "market_prices", "third_party",
            "quoted_customer", "hypothetical", "negation", "prompt_injection"} <= categories


def test_weights_give_every_context_the_corpus_mix_of_labels() -> None:
    """Writers put more buying requests after the discovery questions than visitors do: weighted,
    the context alone says nothing. Lead-form answers, never judged, keep weight 1."""
    greeting, symptoms, impact = (DialogueContext(p) for p in (BotPrompt.GREETING, BotPrompt.ASK_SYMPTOMS,
                                                               BotPrompt.ASK_IMPACT))
    examples = (
        [LabelledMessage("g", "none", greeting)] * 6 + [LabelledMessage("g", "clear", greeting)] * 2
        + [LabelledMessage("s", "none", symptoms)] * 1 + [LabelledMessage("s", "clear", impact)] * 3
        + [LabelledMessage("n", "none", DialogueContext(BotPrompt.LEAD_NAME))] * 2
    )
    weights = context_balanced_weights(examples)
    labels = np.array([e.label for e in examples])
    at_greeting = np.array([e.context == greeting for e in examples])
    in_discovery = np.array([e.context in (symptoms, impact) for e in examples])  # one context: all three questions
    overall_clear = np.mean(labels == "clear")
    for group in (at_greeting, in_discovery):
        share = weights[group & (labels == "clear")].sum() / weights[group].sum()
        assert share == pytest.approx(overall_clear, abs=0.02)
    assert weights[-2:].tolist() == [1.0, 1.0]


def test_the_fingerprint_follows_the_corpus(tmp_path: Path) -> None:
    (tmp_path / "w1-a.yml").write_text('- {text: "hi", label: none}\n')
    before = corpus_fingerprint(tmp_path)
    (tmp_path / "w1-a.yml").write_text('- {text: "hello", label: none}\n')
    assert corpus_fingerprint(tmp_path) != before


def test_the_threshold_is_just_above_the_highest_held_out_negative() -> None:
    messages = [LabelledMessage("a", "none"), LabelledMessage("b", "clear"), LabelledMessage("c", "interest")]
    p = np.array([[0.3, 0.1, 0.6, 0.0], [0.1, 0.0, 0.9, 0.0], [0.2, 0.1, 0.7, 0.0]])
    held = HeldOut(messages, p)
    assert held.clear_threshold(0.0) == pytest.approx(0.759, abs=1e-3)  # 0.7 plus 0.3 in log-odds
    assert held.false_offers_at(held.clear_threshold(0.0)) == 0
    assert held.recall_at(held.clear_threshold(0.0)) == 1.0


def test_the_threshold_may_let_through_the_allowed_share_of_held_out_negatives() -> None:
    messages = [LabelledMessage(str(i), "none") for i in range(10)] + [LabelledMessage("c", "clear")]
    p = np.zeros((11, 4))
    p[:10, 2] = [0.95, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1]
    p[10, 2] = 0.9
    held = HeldOut(messages, p)
    assert held.clear_threshold(0.1) == pytest.approx(0.669, abs=1e-3)  # one negative in ten may score above it
    assert held.false_offers_at(held.clear_threshold(0.1)) == 1 and held.recall_at(held.clear_threshold(0.1)) == 1.0


def test_each_context_gets_the_threshold_its_own_negatives_allow() -> None:
    """A context whose negatives score high (answers to the offer that decline it while naming a
    price) gets a higher threshold, without raising the others'."""
    greeting, offer = DialogueContext(BotPrompt.GREETING), DialogueContext(BotPrompt.OFFER)
    messages = [LabelledMessage("g-none", "none", greeting), LabelledMessage("g-clear", "clear", greeting),
                LabelledMessage("o-none", "none", offer), LabelledMessage("o-clear", "clear", offer)]
    p = np.zeros((4, 4))
    p[:, 2] = [0.5, 0.8, 0.9, 0.95]
    held = HeldOut(messages, p)
    thresholds = held.clear_thresholds(0.0)
    assert set(thresholds) == {"greeting", "offer"}
    assert thresholds["greeting"] == pytest.approx(0.574, abs=1e-3) and thresholds["offer"] == pytest.approx(0.924, abs=1e-3)
    assert held.false_offers_at(thresholds) == 0 and held.recall_at(thresholds) == 1.0
    assert held.false_offers_at(held.clear_threshold(0.0)) == 0 and held.recall_at(held.clear_threshold(0.0)) == 0.5


def test_a_model_judges_with_its_contexts_threshold() -> None:
    from bot.conversation.buying_intent import BuyingIntentModel

    model = BuyingIntentModel.__new__(BuyingIntentModel)
    model.threshold, model.thresholds = 0.9, {"offer": 0.97, "ask_symptoms": 0.8}
    assert model.threshold_for(DialogueContext(BotPrompt.OFFER)) == 0.97
    assert model.threshold_for(DialogueContext(BotPrompt.ASK_TRIED)) == 0.8  # the discovery questions are one context
    assert model.threshold_for(DialogueContext(BotPrompt.ANSWERED)) == 0.9


def test_offerings_measure_closeness_to_service_pages() -> None:
    offerings = Offerings(offering=np.array([[1.0, 0.0]]), education=np.array([[0.0, 1.0]]))
    features = offerings.features(np.array([[0.8, 0.6]]))
    assert features[0].tolist() == pytest.approx([0.8, 0.6, 0.2])


def test_the_committed_tuning_is_for_this_corpus() -> None:
    """A corpus, encoder or knowledge-base change needs `lantern intent tune` (and a commit), or
    every fresh install tunes for minutes at `lantern train`."""
    tuning = read_tuning()
    assert tuning is not None and tuning.fingerprint == model_fingerprint()
    assert tuning.held_out_false_offers <= tuning.messages * MAX_FALSE_OFFER_RATE and 0.5 <= tuning.threshold < 1.0
    assert {"greeting", "ask_symptoms", "showed_articles", "answered", "offer"} <= set(tuning.thresholds)
    assert all(0.5 <= t < 1.0 for t in tuning.thresholds.values())


def judged_whole_and_by_spans(model, offerings, text: str, context: DialogueContext):  # type: ignore[no-untyped-def]
    """`text`'s spans, its judgement as one text, and with its spans (and their evidence)."""
    parts = spans(text)
    whole = shared_encoder().encode([text])
    alone, _ = model.judge([text], whole, [context], offerings, [None])
    judged, evidence = model.judge([text], whole, [context], offerings, [shared_encoder().encode(parts)])
    return parts, alone, judged, evidence


def test_a_compound_message_is_only_as_clear_as_its_clearest_span(model, offerings) -> None:  # type: ignore[no-untyped-def]
    context = DialogueContext(BotPrompt.ASK_TRIED)
    parts, alone, judged, evidence = judged_whole_and_by_spans(
        model, offerings, "we tried an seo plugin last year. it did nothing. does your team do local seo for clinics?",
        context)
    by_span, _ = model.judge(parts, shared_encoder().encode(parts), [context] * len(parts), offerings,
                             [None] * len(parts))
    assert len(parts) == 5
    assert judged[0, 2] == pytest.approx(min(alone[0, 2], by_span[:, 2].max()))
    assert parts[evidence[0]] == "does your team do local seo for clinics?"


def test_a_request_asked_in_two_sentences_is_judged_whole(model, offerings) -> None:  # type: ignore[no-untyped-def]
    # Neither "do you do facebook ads?" (interest) nor "how much?" alone asks to buy; together they
    # do, and the two together are a span: the sentences cannot lower the message's clear score.
    text = "do you do facebook ads? how much would that be a month?"
    parts, alone, judged, _ = judged_whole_and_by_spans(model, offerings, text, DialogueContext(BotPrompt.SHOWED_ARTICLES))
    assert parts[-1] == text
    assert judged[0, 2] == pytest.approx(alone[0, 2], abs=1e-6)


def test_writers_are_dealt_into_folds_of_about_equal_size_each_writer_once() -> None:
    from bot.conversation.intent_model import writer_folds

    sizes = {"a": 900, "b": 800, "c": 700, "d": 300, "e": 250, "f": 200, "g": 150}
    messages = [LabelledMessage("x", "none", writer=w) for w, n in sizes.items() for _ in range(n)]
    folds = writer_folds(messages, 3)
    assert sorted(w for fold in folds for w in fold) == sorted(sizes)
    totals = sorted(sum(sizes[w] for w in fold) for fold in folds)
    assert totals[-1] - totals[0] <= max(sizes.values()) // 2
    assert folds == writer_folds(list(reversed(messages)), 3)
    assert len(writer_folds(messages, 20)) == len(sizes)


def test_held_out_predictions_judge_each_writer_by_a_model_fitted_on_the_others() -> None:
    from bot.conversation.buying_intent import fit
    from bot.conversation.intent_model import held_out_predictions

    elsewhere = ["which laptop should i buy", "i need to buy web hosting", "best price on a used van"]
    texts = ([(t, "clear") for t in CLEAR] + [(t, "none") for t in NOT_CLEAR] + [(t, "interest") for t in INTEREST]
             + [(t, "elsewhere") for t in elsewhere * 2])
    messages = [LabelledMessage(text, label, writer=f"w{n % 3}", category="sales_words_in_problem")
                for n, (text, label) in enumerate(texts)]
    vectors = np.random.default_rng(0).normal(size=(len(messages), 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    offerings = Offerings(offering=vectors[:2], education=vectors[2:4])
    none_split: list = [None] * len(messages)
    held = held_out_predictions(messages, vectors, offerings, 16.0, none_split, none_split)
    for writer in ("w0", "w1", "w2"):
        mine = [i for i, m in enumerate(messages) if m.writer == writer]
        others = [i for i, m in enumerate(messages) if m.writer != writer]
        model = fit([messages[i] for i in others], vectors[others], offerings)
        expected, _ = model.judge([messages[i].text for i in mine], vectors[mine], [messages[i].context for i in mine],
                                  offerings, [None] * len(mine), [None] * len(mine))
        np.testing.assert_allclose(held.probabilities[mine], expected)
