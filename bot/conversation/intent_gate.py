"""How clearly a visitor wants to buy: `none`, `interest` or `clear`, with the words that decided it.

Only `clear` may lead to a handoff offer (docs/handoff.md). The NLU intent is a hint,
never enough on its own: the visitor's own words must carry a buying signal that is not
negated, hypothetical or a question about what a sales word means. A typed `/intent{...}`
payload carries no words, so it is never buying intent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from bot.knowledge.search import IntentLevel

BUYING_INTENTS = frozenset({"ask_pricing", "request_demo", "request_sales_contact", "ready_to_buy"})
INTEREST_INTENTS = frozenset({"ask_services"})
MIN_NLU_CONFIDENCE = 0.5

_CLEAR_SIGNALS = [
    r"\b(?:your|ur)\s+(?:price|prices|pricing|rates?|fees?|costs?|packages?)\b",
    r"\bpric(?:e|es|ing)\s+(?:for|of)\s+(?:your|an?|the)\s+\w+",
    r"\bhow\s+much\s+(?:do|would|will|does|is|are|for)\s+(?:you|it|it\s+cost|that|this|an?|the|your)\b",
    r"\bhow\s+much\s+(?:to|for)\s+(?:hire|work|get|have|run|do|manage|fix)\b",
    r"\b(?:what|how)\s+(?:do|would|will)\s+you\s+charge\b",
    r"\bcharge\s+(?:for|per|a\s+month)\b",
    r"\b(?:a|an|the|your|get\s+a|send\s+(?:me|us)\s+a)\s+(?:quote|quotation|estimate|proposal|contract)\b",
    r"\b(?:quote|proposal|contract)\s+for\b",
    r"\b(?:a|the|your|book\s+a|see\s+a|get\s+a|schedule\s+a)\s+(?:demo|trial|consultation|discovery\s+call)\b",
    r"\bfree\s+(?:trials?|consultations?|audits?)\b",
    r"\b(?:have|get)\s+(?:sales|someone|somebody|a\s+rep)\s+(?:to\s+)?(?:call|contact|email|ring)\s+(?:me|us)\b",
    r"\b(?:ballpark|rough)\s+(?:figure|cost|price|estimate|idea\s+of\s+(?:cost|price))\b",
    r"\b(?:schedule|book|arrange|set\s+up)\s+(?:a|an)\s+(?:strategy\s+|intro\s+|discovery\s+)?(?:session|meeting|consultation)\b",
    r"\bdiscuss\s+(?:our|my)\s+[\w\s]{1,30}?\s+with\s+(?:one\s+of\s+)?(?:you|your)\b",
    r"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:someone\s+(?:in|from|on)\s+)?(?:sales|a\s+sales\s*(?:rep|person|team)?|your\s+sales)",
    r"\b(?:sales\s+(?:rep|team|person|call))\b",
    r"\b(?:someone|somebody|a\s+person)\s+(?:from\s+your\s+team\s+)?(?:to\s+)?(?:call|contact|ring|email)\s+(?:me|us)\b",
    r"\b(?:ready|want|wanting|looking|keen|like)\s+to\s+(?:buy|hire|sign|start\s+working|work\s+with|get\s+started|engage|purchase)\b",
    r"\b(?:hire|hiring|engage|book)\s+(?:you|your\s+(?:team|agency|company|services))\b",
    r"\blet'?s\s+(?:get\s+started|do\s+(?:it|this)|go\s+ahead|start)\b",
    r"\bsign\s+(?:up|the\s+contract|a\s+contract)\b",
    r"\bwork(?:ing)?\s+with\s+you\b",
    r"\bhow\s+do\s+(?:we|i)\s+(?:start\s+working\s+with\s+you|get\s+started\s+with\s+you|sign\s+up|hire\s+you|become\s+a\s+client)\b",
    r"\bbook\s+(?:a|an)\s+(?:call|meeting|chat)\s+with\s+(?:you|your|someone)",
    r"\btalk\s+(?:about\s+)?(?:pricing|prices|price|costs?|budget|rates)\b",
    r"\bwhat\s+would\s+it\s+cost\s+(?:to|for)\s+(?:have\s+|get\s+)?(?:you|your)\b",
    r"\bsend\s+(?:me\s+|us\s+)?(?:over\s+)?(?:a|your)\s+(?:proposal|quote|quotation|contract|price\s+list)\b",
    r"\bworking\s+together\b",
]
_INTEREST_SIGNALS = [
    r"\bdo\s+(?:you|u|ya)\s+(?:guys\s+)?(?:do|offer|provide|handle|run|manage|sell|work\s+with|help\s+with|cover|specialise|specialize)\b",
    r"\bcan\s+(?:you|u)\s+(?:guys\s+)?(?:help|do|handle|manage|run|take\s+care)\b",
    r"\b(?:your|ur)\s+(?:services?|agency|team|offer|expertise|clients?|case\s+studies)\b",
    r"\bwhat\s+(?:services|do\s+you\s+(?:do|offer))\b",
    r"\bare\s+you\s+(?:a\s+good\s+fit|able\s+to|experienced)\b",
]
# Words that undo a buying signal in the same sentence.
_NEGATIONS = [
    r"\bnot\s+(?:yet\s+)?(?:ready|looking|interested|planning|going|buying|hiring|in\s+the\s+market|after)\b",
    r"\b(?:don'?t|do\s+not|doesn'?t|won'?t|wouldn'?t|never)\s+(?:want|need|plan|intend|buy|hire|looking|care)\b",
    r"\bno\s+(?:plans?|intention|budget|need)\b",
    r"\bjust\s+(?:researching|browsing|looking|learning|curious|reading|asking)\b",
    r"\b(?:only|merely)\s+(?:researching|browsing|looking|curious)\b",
    r"\bno\s+(?:demo|quote|sales|call|pitch)s?\b",
    r"\bnot\s+(?:a\s+)?(?:demo|quote|sales|call|pitch)\b",
    # Someone else's wish, or doing it without help, is not this visitor asking to buy.
    r"\b(?:my|our)\s+(?:co-?founder|boss|partner|manager|colleague|ceo|owner)\s+(?:wants|thinks|says)\b",
    r"\b(?:fix|do|handle|sort|manage)\s+(?:it|this|that)\s+(?:ourselves|myself|in-house|in\s+house)\b",
]
_HYPOTHETICALS = [
    r"\b(?:if|when)\s+(?:we|i)\s+(?:ever|one\s+day|eventually|someday|decide)\b",
    r"\bhypothetically\b",
    r"\b(?:maybe|perhaps)\s+(?:later|next\s+year|one\s+day|someday|in\s+the\s+future)\b",
    r"\bone\s+day\b",
    r"\bsome\s*day\b",
]
# Sales words used to learn, not to buy: "what does demo mean", "the price of ignoring".
_EDUCATIONAL = [
    r"\bwhat\s+(?:does|do|is|are)\s+(?:a\s+|an\s+|the\s+)?[\w\s-]{0,20}?\b(?:demo|trial|quote|proposal|pricing|price|contract|mql|sql|lead)s?\s+(?:mean|stand)",
    r"\bwhat\s+(?:is|are)\s+(?:a\s+|an\s+)?(?:demo|trial|quote|proposal|contract)s?\b\??$",
    r"\b(?:price|cost)s?\s+of\s+(?:ignoring|not|doing\s+nothing|bad|slow|poor|leaving|waiting|a\s+slow|a\s+bad)",
    r"\bhow\s+much\s+(?:does|do|is|are|will|would|could)\s+(?:a\s+|an\s+|the\s+|my\s+|our\s+)?(?:bad|slow|poor|low|broken|ignoring|missing|lost|weak|high)\b",
    r"\b(?:cost|costing|cost\s+me|cost\s+us)\s+(?:me|us)?\s*(?:in\s+)?(?:lost\s+)?(?:sales|money|customers|revenue|leads)\b",
    r"\bdifference\s+between\s+(?:a\s+)?(?:demo|trial|quote)",
    r"\b(?:their|competitors?'?s?|other\s+people'?s?)\s+(?:pricing|prices?)\s+page\b",
    r"\bpricing\s+page\b",
]
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def _compile(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


CLEAR_SIGNALS = _compile(_CLEAR_SIGNALS)
INTEREST_SIGNALS = _compile(_INTEREST_SIGNALS)
NEGATIONS = _compile(_NEGATIONS)
HYPOTHETICALS = _compile(_HYPOTHETICALS)
EDUCATIONAL = _compile(_EDUCATIONAL)


@dataclass(frozen=True)
class IntentAssessment:
    level: IntentLevel
    evidence: Optional[str]  # the visitor's exact words that decided a non-`none` level
    reason: str

    @property
    def is_clear(self) -> bool:
        return self.level is IntentLevel.CLEAR


def is_payload(text: str) -> bool:
    """Rasa's `/intent{...}` syntax bypasses NLU; it says nothing in the visitor's words."""
    return text.lstrip().startswith("/")


def _first_match(patterns: Sequence[re.Pattern[str]], text: str) -> Optional[re.Match[str]]:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return match
    return None


def _undone(sentence: str) -> Optional[str]:
    if _first_match(NEGATIONS, sentence):
        return "negated"
    if _first_match(HYPOTHETICALS, sentence):
        return "hypothetical"
    if _first_match(EDUCATIONAL, sentence):
        return "educational use of a sales word"
    return None


def assess_buying_intent(
    text: str,
    nlu_intent: Optional[str] = None,
    nlu_confidence: float = 0.0,
    earlier_messages: Sequence[str] = (),
) -> IntentAssessment:
    """Assess one visitor message, given the NLU result and the visitor's earlier messages."""
    if is_payload(text):
        return IntentAssessment(IntentLevel.NONE, None, "typed intent payload: no words to go on")
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()] or [text]
    undone_reason = None
    for sentence in sentences:
        match = _first_match(CLEAR_SIGNALS, sentence)
        if match is None:
            continue
        undone_reason = _undone(sentence)
        if undone_reason is None:
            return IntentAssessment(IntentLevel.CLEAR, sentence, f"buying signal: {match.group(0)!r}")
    # NLU is sure it is a buying signal but no pattern fired: trust it only when a recent
    # message of the visitor's already pointed at the company's services.
    if (
        undone_reason is None
        and nlu_intent in BUYING_INTENTS
        and nlu_confidence >= MIN_NLU_CONFIDENCE
        and not any(_undone(s) for s in sentences)
        and any(_first_match(INTEREST_SIGNALS, m) or _first_match(CLEAR_SIGNALS, m) for m in earlier_messages[-3:])
    ):
        return IntentAssessment(IntentLevel.CLEAR, text.strip(), f"{nlu_intent} after interest in services")
    for sentence in sentences:
        match = _first_match(INTEREST_SIGNALS, sentence)
        if match and not _first_match(NEGATIONS, sentence):
            return IntentAssessment(IntentLevel.INTEREST, sentence, f"asks about services: {match.group(0)!r}")
    if nlu_intent in INTEREST_INTENTS | BUYING_INTENTS and nlu_confidence >= MIN_NLU_CONFIDENCE and not undone_reason:
        return IntentAssessment(IntentLevel.INTEREST, text.strip(), f"NLU: {nlu_intent}")
    return IntentAssessment(IntentLevel.NONE, None, undone_reason or "no buying signal")
