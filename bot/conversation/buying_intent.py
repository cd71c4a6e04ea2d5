"""Buying intent, learned from labelled messages: `none`, `interest` or `clear`.

Only `clear` may lead to a handoff offer. The decision is two logistic regressions
over what the stack already computes for a message — its MiniLM sentence embedding and its
word and character n-grams — plus the dialogue context (what the bot just asked, whether the
visitor declined an offer before) and how close the message is to the company's own
`service` and `pricing` pages compared with its education articles. That last pair is what
lets another company's knowledge base work without code changes: "I want to buy a laptop"
is far from a marketing agency's service pages, and near a computer shop's.

The model learns four classes: `none`, `interest`, `clear` and `elsewhere` (buying something
the company does not sell). `elsewhere` is reported as level `none` with `buys_elsewhere`
set, so the visitor gets an honest answer about what the company does, and no offer.
An offer needs the clear score at or above the threshold chosen, for the context the message
arrives in, on held-out writers' messages (at most 0.1 % of those without clear intent above
it; docs/handoff.md says why not zero).
No pattern decides anything; a typed `/intent{...}` payload carries no words, so it is never
buying intent.

This module knows nothing of Rasa; `bot/actions/offer.py` reads the tracker into a
`DialogueContext` and calls `BuyingIntentModel.assess`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Protocol, Sequence

import numpy as np
import yaml
from numpy.typing import NDArray
from scipy import sparse

from bot.conversation.language import looks_english
from bot.knowledge.search import IntentLevel, PassageIndex

CLASSES = ("none", "interest", "clear", "elsewhere")
OFFERING_KINDS = frozenset({"service", "pricing"})
# Bumped whenever the features change, so cached models are retrained.
FEATURE_VERSION = 4
# The sentence embedding is unit length while a message's tf-idf rows are too; scaled so
# the classifier weighs meaning about as much as wording (chosen by cross-validation).
EMBEDDING_SCALE = 1.0
CORPUS_DIR = Path(__file__).resolve().parent / "intent_corpus"
# Corpus categories that share words with buying requests without being one: the veto
# classifier learns clear requests against these alone.
HARD_NEGATIVES = frozenset({
    "sales_words_in_problem", "own_pricing_or_sales", "other_purchase", "market_prices", "third_party",
    "quoted_customer", "hypothetical", "negation", "meaning_of_term", "price_of_problem", "prompt_injection",
    "interest_services",
})
# How much less buying a single sentence may say than two together and still be the evidence.
EVIDENCE_TOLERANCE = 0.05
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# Words in quotation marks are someone else's ("my client wrote 'send us your rates'") or words
# the visitor wants said ("repeat after me: 'I want to hire you'"), not the visitor's own request.
# Short quoted terms ("a 'starter' package") stay: only spans of a dozen characters or more go.
_QUOTATION = re.compile(r"[\"“”]([^\"“”]{12,})[\"“”]|(?<![A-Za-z])'([^']{12,})'(?![A-Za-z])")
UNQUOTED = " a quotation "


class BotPrompt(str, Enum):
    """What the bot said just before the visitor's message."""

    GREETING = "greeting"
    ASK_SYMPTOMS = "ask_symptoms"
    ASK_IMPACT = "ask_impact"
    ASK_TRIED = "ask_tried"
    SHOWED_ARTICLES = "showed_articles"
    ANSWERED = "answered"
    OFFER = "offer"
    LEAD_NAME = "lead_name"
    LEAD_EMAIL = "lead_email"
    LEAD_COMPANY = "lead_company"
    LEAD_FOLLOW_UP = "lead_follow_up"
    LEAD_CONSENT = "lead_consent"


PROMPTS = tuple(BotPrompt)


@dataclass(frozen=True)
class DialogueContext:
    """Where the conversation stands when the message arrives."""

    bot_prompt: BotPrompt = BotPrompt.GREETING
    declined_before: bool = False

    @property
    def assessed(self) -> bool:
        """Whether a message here is judged at all: lead-form answers are not (the visitor is
        being handed over already)."""
        return not self.bot_prompt.value.startswith("lead_")


@dataclass(frozen=True)
class IntentAssessment:
    level: IntentLevel
    evidence: Optional[str]  # the visitor's own sentence that decided a non-`none` level
    probability: float  # P(clear), what the offer threshold is compared with
    reason: str
    buys_elsewhere: bool = False  # wants to buy something the company does not sell
    judged: bool = True  # False when the judgement could not be made (no index, no model): never an offer

    @property
    def is_clear(self) -> bool:
        return self.level is IntentLevel.CLEAR


@dataclass(frozen=True)
class LabelledMessage:
    """One visitor message in its context, with its label (`CLASSES`)."""

    text: str
    label: str
    context: DialogueContext = field(default_factory=DialogueContext)
    writer: str = ""
    category: str = ""
    topic: str = ""


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> NDArray[Any]: ...

    def encode_query(self, text: str) -> NDArray[Any]: ...


@dataclass(frozen=True)
class Offerings:
    """Unit vectors of the knowledge base's embedded texts, split by whether the article sells."""

    offering: NDArray[Any]  # (n, dim): texts of `service` and `pricing` articles
    education: NDArray[Any]  # (m, dim): everything else

    @classmethod
    def from_index(cls, index: PassageIndex) -> "Offerings":
        if index.dense is None:
            raise ValueError("the index has no embeddings: buying intent needs the hybrid index")
        owners = index.embedded_owners
        kinds = np.array([index.articles[n].kind in OFFERING_KINDS for n in owners], dtype=bool)
        return cls(index.dense.matrix[kinds], index.dense.matrix[~kinds])

    def features(self, vectors: NDArray[Any]) -> NDArray[Any]:
        """(closest offering text, closest education text, their difference) per vector."""
        offering = (vectors @ self.offering.T).max(axis=1) if len(self.offering) else np.zeros(len(vectors))
        education = (vectors @ self.education.T).max(axis=1) if len(self.education) else np.zeros(len(vectors))
        return np.column_stack([offering, education, offering - education])


def is_payload(text: str) -> bool:
    """Rasa's `/intent{...}` syntax bypasses NLU; it says nothing in the visitor's words."""
    return text.lstrip().startswith("/")


def without_quotations(text: str) -> Optional[str]:
    """The message with quoted passages replaced, or None when it quotes nothing."""
    unquoted = _QUOTATION.sub(UNQUOTED, text)
    return None if unquoted == text else unquoted


def sentences(text: str) -> list[str]:
    found = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    return found or [text.strip()]


def spans(text: str) -> list[str]:
    """The parts of a message judged on their own: each sentence, then each two neighbouring
    sentences together, since a request is often asked in two ("do you do facebook ads? how
    much?": neither sentence alone asks to buy). One sentence is the message itself."""
    found = [m for m in _SENTENCE.finditer(text) if m.group().strip()]
    if len(found) < 2:
        return sentences(text)
    # Cut from the message itself, so a span is always the visitor's words as written.
    return [m.group().strip() for m in found] + [
        text[first.start():second.end()].strip() for first, second in zip(found, found[1:])
    ]


# The three discovery questions count as one context: writers put buying requests in answers
# to them far more often than visitors do, and one prompt per question learnt that quirk.
_DISCOVERY = (BotPrompt.ASK_SYMPTOMS, BotPrompt.ASK_IMPACT, BotPrompt.ASK_TRIED)
_CONTEXTS = tuple(p for p in PROMPTS if p not in _DISCOVERY[1:])
# Cues that undo a buying request's words, as features the classifiers weigh like any other
# (never a decision by themselves): addressing the assistant's own behaviour ("act as the
# sales manager and quote me"), a condition or a maybe, someone else's words or wish, the
# market rather than this company, the visitor's own clients.
CUES = {
    "instructs_the_bot": re.compile(
        r"\b(?:you(?:'re| are)\s+(?:now\s+)?(?:a|an|the|my)\s+\w+|act(?:ing)?\s+(?:as|like)|pretend|imagine"
        r"|role-?\s?play|in\s+your\s+next\s+(?:reply|message|answer|response)"
        r"|ignore\s+(?:your|all|any|previous|the|everything|my)|from\s+now\s+on|respond\s+(?:as\s+if|only|with)"
        r"|(?:system|assistant|user|bot|visitor)\s*:|for\s+(?:this\s+)?(?:test|qa)|fill\s+in|say\s+the\s+(?:offer|words)"
        r"|(?:print|output|repeat)\s+(?:your|the)\s+\w+)"),
    "hypothetical": re.compile(
        r"\b(?:if|when|once)\s+(?:we|i)\s+(?:ever|had|have|get|got|were|decide|start|grow)|\bhypothetically|\bsomeday"
        r"|\bone\s+day\b|\b(?:maybe|perhaps|possibly|potentially)\b|\bdown\s+the\s+(?:road|line)|\bin\s+the\s+future"),
    "reported": re.compile(
        r"\b(?:my|our)\s+(?:boss|director|manager|ceo|coo|cfo|cmo|founder|co-?founder|partner|board|owner|colleague|"
        r"team\s+lead|client|customer)s?\s+(?:wants?|thinks?|says?|said|asked|keeps?|is|pushing)|[\"“”]|(?:^|\\s)'[^']{3,}'"
        r"|\b(?:said|told|asked|wrote|emailed)\b"),
    "market": re.compile(
        r"\b(?:typical(?:ly)?|usually|normally|average|going\s+rate|standard\s+rate|fair\s+price|reasonable|"
        r"in\s+general|market\s+rate|most\s+agencies|agencies\s+(?:usually\s+)?charge|these\s+days|benchmark)\b"),
    "own_selling": re.compile(
        r"\b(?:my|our)\s+(?:own\s+)?(?:clients?|customers?|prospects?|buyers?|students?|pric(?:es|ing)|rates|quotes?|"
        r"proposals?|packages|sales\s+(?:team|reps?|people))\b"
        r"|\bhow\s+(?:do|should|can|would|could)\s+(?:i|we)\s+(?:best\s+)?(?:write|price|quote|sell|pitch|charge|package|"
        r"present|structure|respond|answer)"),
    "negated": re.compile(
        r"\b(?:no|not|don'?t|do\s+not|never|won'?t|without)\s+(?:\w+\s+){0,2}?(?:need|want|looking|interested|ready|"
        r"call|demo|quote|proposal|sales|pitch|consultation|buy|hire|connect)"),
}
CUES = {name: re.compile(cue.pattern, re.IGNORECASE) for name, cue in CUES.items()}
CUE_SCALE = 3.0  # so a cue's weight is cheap to learn next to tens of thousands of n-grams


def _merged_prompt(context: DialogueContext) -> BotPrompt:
    """The prompt as the model sees it: the three discovery questions are one."""
    return BotPrompt.ASK_SYMPTOMS if context.bot_prompt in _DISCOVERY else context.bot_prompt


def context_key(context: DialogueContext) -> str:
    """The context an offer threshold is chosen for: what the bot just asked, discovery as one."""
    return _merged_prompt(context).value


def _context_features(contexts: Sequence[DialogueContext], texts: Sequence[str]) -> NDArray[Any]:
    rows = np.zeros((len(contexts), len(_CONTEXTS) + 1 + len(CUES)), dtype=np.float32)
    for row, (context, text) in enumerate(zip(contexts, texts)):
        rows[row, _CONTEXTS.index(_merged_prompt(context))] = 1.0
        rows[row, len(_CONTEXTS)] = 1.0 if context.declined_before else 0.0
        for number, cue in enumerate(CUES.values()):
            rows[row, len(_CONTEXTS) + 1 + number] = CUE_SCALE if cue.search(text) else 0.0
    return rows


class BuyingIntentModel:
    """The fitted vectorisers, the two classifiers and the offer threshold.

    `classifier` tells the four classes apart; `veto` was fitted on clear requests against the
    hard negatives alone (`HARD_NEGATIVES`: sales words without buying, other purchases,
    hypotheticals, tricks...), where the first classifier's mistakes are. A message's clear
    score is the lower of the two: an offer needs both to agree. It must reach the threshold
    of the context the message arrives in (`thresholds`, by `context_key`; `threshold` where
    none was chosen).
    """

    def __init__(
        self, word_ngrams: Any, char_ngrams: Any, classifier: Any, veto: Any, threshold: float, fingerprint: str,
        thresholds: Optional[Mapping[str, float]] = None,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.classifier = classifier
        self.veto = veto
        self.threshold = threshold
        self.thresholds = dict(thresholds or {})
        self.fingerprint = fingerprint
        self._order = [list(classifier.classes_).index(name) for name in CLASSES]
        self._veto_clear = list(veto.classes_).index(True)

    @staticmethod
    def design(
        word_ngrams: Any, char_ngrams: Any, texts: Sequence[str], vectors: NDArray[Any],
        contexts: Sequence[DialogueContext], offerings: Offerings,
    ) -> sparse.csr_matrix:
        """The classifiers' input rows: n-grams, embedding, context, closeness to the offering."""
        lowered = [t.lower() for t in texts]
        dense = np.hstack([
            EMBEDDING_SCALE * vectors,
            _context_features(contexts, texts),
            offerings.features(vectors),
        ]).astype(np.float32)
        return sparse.hstack(
            [word_ngrams.transform(lowered), char_ngrams.transform(lowered), sparse.csr_matrix(dense)], format="csr"
        )

    def scores(
        self, texts: Sequence[str], vectors: NDArray[Any], contexts: Sequence[DialogueContext], offerings: Offerings
    ) -> NDArray[Any]:
        """Per message: P per class in `CLASSES` order, except that the `clear` column holds the
        clear score (the lower of the classifier's P(clear) and the veto's)."""
        x = self.design(self.word_ngrams, self.char_ngrams, texts, vectors, contexts, offerings)
        probabilities: NDArray[Any] = np.asarray(self.classifier.predict_proba(x))[:, self._order]
        clear = CLASSES.index("clear")
        probabilities[:, clear] = np.minimum(probabilities[:, clear], self.veto.predict_proba(x)[:, self._veto_clear])
        return probabilities

    def judge(
        self,
        texts: Sequence[str],
        vectors: NDArray[Any],
        contexts: Sequence[DialogueContext],
        offerings: Offerings,
        span_vectors: Sequence[Optional[NDArray[Any]]],
        unquoted_vectors: Optional[Sequence[Optional[NDArray[Any]]]] = None,
    ) -> tuple[NDArray[Any], list[int]]:
        """`scores` per message, with a message of several sentences clear only as far as its
        clearest span (a sentence, or two neighbouring ones: `spans`) is too ("we tried a plugin
        last year. our traffic is down. do you do local seo?" asks to buy in no sentence or pair),
        and a message that quotes clear only as far as it is without its quotations; and the
        number of the clearest span, the evidence, per message.

        `span_vectors[i]` embeds `spans(texts[i])`, row for row (None for one sentence);
        `unquoted_vectors[i]` embeds `without_quotations(texts[i])` (None when it quotes nothing).
        """
        judged = self.scores(texts, vectors, contexts, offerings)
        clear, interest = CLASSES.index("clear"), CLASSES.index("interest")
        rows, unquoted_texts, vectors_of_unquoted = [], [], []
        for i, unquoted_vector in enumerate(unquoted_vectors or []):
            unquoted = without_quotations(texts[i])
            if unquoted is not None and unquoted_vector is not None:
                rows.append(i)
                unquoted_texts.append(unquoted)
                vectors_of_unquoted.append(unquoted_vector)
        if rows:  # scored together, as the whole messages were
            alone = self.scores(unquoted_texts, np.vstack(vectors_of_unquoted), [contexts[i] for i in rows], offerings)
            judged[rows, clear] = np.minimum(judged[rows, clear], alone[:, clear])
        evidence = [0] * len(texts)
        for i, (text, parts_vectors) in enumerate(zip(texts, span_vectors)):
            parts = spans(text)
            if len(parts) < 2 or parts_vectors is None:
                continue
            by_span = self.scores(parts, parts_vectors, [contexts[i]] * len(parts), offerings)
            judged[i, clear] = min(judged[i, clear], float(by_span[:, clear].max()))
            # The evidence a rep reads: one sentence rather than two when it says nearly as much
            # (`spans` lists the sentences first).
            said = by_span[:, interest] + by_span[:, clear]
            evidence[i] = int(np.flatnonzero(said >= said.max() - EVIDENCE_TOLERANCE)[0])
        return judged, evidence

    def threshold_for(self, context: DialogueContext) -> float:
        return self.thresholds.get(context_key(context), self.threshold)

    def assess(
        self, text: str, context: DialogueContext, encoder: Encoder, offerings: Offerings
    ) -> IntentAssessment:
        """Assess one visitor message in its context."""
        threshold = self.threshold_for(context)
        if is_payload(text) or not text.strip():
            return IntentAssessment(IntentLevel.NONE, None, 0.0, "typed intent payload: no words to go on")
        if not looks_english(text):
            return IntentAssessment(IntentLevel.NONE, None, 0.0, "not English: intent is judged in English only")
        parts = spans(text)
        vector = encoder.encode_query(text)[None, :]
        judged, evidence = self.judge([text], vector, [context], offerings, [None])
        none, interest, clear, elsewhere = (float(v) for v in judged[0])
        unquoted = without_quotations(text)
        if (len(parts) > 1 or unquoted is not None) and (clear >= threshold or interest + clear >= max(none, elsewhere)):
            # Its sentences and its words without quotations only matter for an offer or for the
            # evidence: embedded only then.
            judged, evidence = self.judge(
                [text], vector, [context], offerings, [encoder.encode(parts) if len(parts) > 1 else None],
                [encoder.encode_query(unquoted) if unquoted is not None else None],
            )
            none, interest, clear, elsewhere = (float(v) for v in judged[0])
        said = parts[evidence[0]]
        if clear >= threshold:
            return IntentAssessment(IntentLevel.CLEAR, said, clear, f"clear score {clear:.2f} >= {threshold:.2f}")
        if elsewhere >= max(none, interest, clear):
            return IntentAssessment(IntentLevel.NONE, None, clear, f"buys elsewhere: P={elsewhere:.2f}",
                                    buys_elsewhere=True)
        if interest + clear >= max(none, elsewhere):
            return IntentAssessment(IntentLevel.INTEREST, said, clear,
                                    f"interest: P(interest)={interest:.2f}, clear score {clear:.2f}")
        return IntentAssessment(IntentLevel.NONE, None, clear, f"no buying intent: clear score {clear:.2f}")


def _context_group(context: DialogueContext) -> tuple[BotPrompt, bool]:
    return _merged_prompt(context), context.declined_before


def context_balanced_weights(examples: Sequence[LabelledMessage]) -> NDArray[Any]:
    """Sample weights under which every context holds the corpus's overall mix of labels.

    Writers choose how many buying requests they put after each question, and they put far
    more after the discovery questions and after a decline than visitors do (over half, where
    a visitor answering "since when?" is rarely buying). Unweighted, the model learnt that an
    answer to a discovery question is likely a purchase — "thank you very much!" there scored
    0.97 — and that the words of such answers ("since march") are buying words. Weighted, a
    context tells nothing by itself; what the visitor says in it does. Lead-form answers keep
    weight 1: they are never judged. Weights are kept within [0.25, 4] so a context with few
    examples of a label does not hang on them.
    """
    labels = [e.label for e in examples]
    overall = {label: count / len(labels) for label, count in Counter(labels).items()}
    groups: dict[tuple[BotPrompt, bool], list[int]] = {}
    for number, example in enumerate(examples):
        groups.setdefault(_context_group(example.context), []).append(number)
    weights = np.ones(len(examples))
    for (prompt, _), members in groups.items():
        if prompt.value.startswith("lead_"):
            continue
        counts = Counter(labels[i] for i in members)
        for i in members:
            weights[i] = min(max(overall[labels[i]] / (counts[labels[i]] / len(members)), 0.25), 4.0)
    return weights


def fit(
    examples: Sequence[LabelledMessage],
    vectors: NDArray[Any],
    offerings: Offerings,
    threshold: float = 1.0,
    c: float = 16.0,
    fingerprint: str = "",
    balance_contexts: bool = True,
    thresholds: Optional[Mapping[str, float]] = None,
) -> BuyingIntentModel:
    """Fit vectorisers and both classifiers on `examples` (their embeddings row for row in `vectors`)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    lowered = [e.text.lower() for e in examples]
    word_ngrams = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(lowered)
    char_ngrams = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                  max_features=60000).fit(lowered)
    x = BuyingIntentModel.design(word_ngrams, char_ngrams, [e.text for e in examples], vectors,
                                 [e.context for e in examples], offerings)
    weights = context_balanced_weights(examples) if balance_contexts else np.ones(len(examples))
    classifier = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=0)
    classifier.fit(x, [e.label for e in examples], sample_weight=weights)
    hard = np.array([e.label == "clear" or e.category in HARD_NEGATIVES for e in examples])
    veto = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=0)
    veto.fit(x[hard], [e.label == "clear" for e, h in zip(examples, hard) if h], sample_weight=weights[hard])
    return BuyingIntentModel(word_ngrams, char_ngrams, classifier, veto, threshold, fingerprint, thresholds)


# ---------------------------------------------------------------------------- the corpus

def label_of(label: str, category: str) -> str:
    """The class a corpus item trains: its label, except that buying elsewhere is its own class."""
    if label == "none" and category == "other_purchase":
        return "elsewhere"
    if label not in ("none", "interest", "clear"):
        raise ValueError(f"unknown label {label!r}")
    return label


def read_corpus_file(path: Path, writer: str) -> list[LabelledMessage]:
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    messages = []
    for number, item in enumerate(items):
        try:
            context = DialogueContext(BotPrompt(item.get("bot_prompt", "greeting")), bool(item.get("declined_before")))
            category = str(item.get("category") or "")
            messages.append(LabelledMessage(
                str(item["text"]), label_of(str(item["label"]), category), context, writer, category,
                str(item.get("topic") or ""),
            ))
        except (KeyError, ValueError, TypeError) as error:
            raise ValueError(f"{path}: item {number}: {error}") from error
    return messages


def load_corpus(corpus_dir: Path = CORPUS_DIR) -> list[LabelledMessage]:
    """Every labelled message; a file's writer is its name's first part (`w1-part-01.yml`)."""
    messages: list[LabelledMessage] = []
    for path in sorted(corpus_dir.glob("*.yml")):
        messages += read_corpus_file(path, path.name.split("-", 1)[0])
    return messages


def corpus_fingerprint(corpus_dir: Path = CORPUS_DIR, extra: Iterable[str] = ()) -> str:
    digest = hashlib.sha256(f"features v{FEATURE_VERSION}\n".encode())
    for part in extra:
        digest.update(f"{part}\n".encode())
    for path in sorted(corpus_dir.glob("*.yml")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
