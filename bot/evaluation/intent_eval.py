"""`make eval-intent`: does Lantern offer a rep exactly when it should, on conversations it never saw?

Replays labelled conversations through the REST channel of a real stack (trained Rasa model,
Rasa server, action server) and prints a table:

- offers in conversations without clear intent (target 0), with the exact 95 % upper bound of
  the false-offer rate (Clopper-Pearson);
- clear-intent conversations offered in the turn the intent appeared (target >= 97 %), and
  offers made before it (target 0);
- re-offers after a decline that the visitor did not ask for again in words (target 0);
- general-assistant requests (timers, recipes, banking...): offers (target 0) and replies that
  link an article (target <= 2 %);
- assessment cost per message beside NLU parsing.

Sets: `--set test` (default) is the frozen test set, written by writers who never saw the model
or its training data; its SHA-256 is checked against the one recorded in docs/handoff.md, and it
is meant to be run once per change and reported as it comes out: its mistakes are printed only
with `--show-mistakes` (or `--verbose`), since a set whose mistakes were read must be retired.
`--set dev` is the team's own 68 conversations, which tuned the old gate and are now development
data. The model's held-out figures on its training corpus (writers held out in groups) are printed first.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import yaml

from bot.evaluation.stack import PROJECT_HOME, Stack, running_stack

EVAL_DIR = PROJECT_HOME / "tests" / "eval"
TEST_SET_DIR = EVAL_DIR / "intent_test"
GENERAL_SET_DIR = EVAL_DIR / "general_requests"
# The next frozen set, written blind ahead of need: never replayed until it replaces the one above
# (docs/contributing.md), but already kept out of the training corpus (near_twins).
NEXT_SET_DIR = EVAL_DIR / "next_test_set"
# The one after it, written blind as well: it moves into NEXT_SET_DIR when that set is frozen.
LATER_SET_DIR = EVAL_DIR / "later_test_set"
DEV_SET = EVAL_DIR / "intent_dev_conversations.yml"
RECORDED_HASH = re.compile(r"frozen test set SHA-256: `([0-9a-f]{64})`")
WAITING_HASH = re.compile(r"its SHA-256 \(not the frozen\s+one\):\s+`([0-9a-f]{64})`")
LATER_HASH = re.compile(r"the set after it, SHA-256:\s+`([0-9a-f]{64})`")
# The sets written blind ahead of need, in the order they will be frozen, each with the pattern of the
# docs/handoff.md line that records its SHA-256.
WAITING_SETS = ((NEXT_SET_DIR, WAITING_HASH), (LATER_SET_DIR, LATER_HASH))
URL = re.compile(r"https?://\S+")
VISITORS_IN_PARALLEL = 2


@dataclass
class Conversation:
    id: str
    category: str
    turns: list[str]
    clear_turns: list[int]
    decline_turn: Optional[int] = None
    offered_at: list[int] = field(default_factory=list)
    already_lead_at: list[int] = field(default_factory=list)
    linked_article: bool = False
    # Per turn, where the conversation stood when it arrived (what the bot had just asked,
    # whether an offer had been declined): what `--record` writes for retiring a set.
    prompts: list[str] = field(default_factory=list)
    declined_before: list[bool] = field(default_factory=list)

    @property
    def has_clear_intent(self) -> bool:
        return bool(self.clear_turns)

    @property
    def honoured(self) -> set[int]:
        return set(self.offered_at) | set(self.already_lead_at)


def set_digest(paths: Sequence[Path]) -> str:
    """SHA-256 over the set's files, by name and content, in name order."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def set_files(root: Path = EVAL_DIR) -> list[Path]:
    """A test set's files under `root`: its conversations, then its general requests."""
    return sorted((root / TEST_SET_DIR.name).glob("*.yml")) + sorted((root / GENERAL_SET_DIR.name).glob("*.yml"))


def frozen_files() -> list[Path]:
    return set_files(EVAL_DIR)


def recorded_digest(pattern: re.Pattern[str] = RECORDED_HASH) -> Optional[str]:
    """The SHA-256 docs/handoff.md records for the frozen set (or, with `WAITING_HASH` or `LATER_HASH`,
    a waiting one)."""
    match = pattern.search((PROJECT_HOME / "docs" / "handoff.md").read_text(encoding="utf-8"))
    return match.group(1) if match else None


def _conversation(item: dict) -> Conversation:
    clear_turns = item.get("clear_turns")
    if clear_turns is None:  # the dev set's older form: one `clear_turn`
        clear_turns = [item["clear_turn"]] if item.get("clear_turn") is not None else []
    return Conversation(str(item["id"]), str(item["category"]), [str(t) for t in item["turns"]],
                        sorted(int(t) for t in clear_turns), item.get("decline_turn"))


def load_conversations(paths: Sequence[Path]) -> list[Conversation]:
    conversations: list[Conversation] = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = data["conversations"] if isinstance(data, dict) else data
        conversations += [_conversation(item) for item in items]
    return conversations


def load_general_requests(paths: Sequence[Path]) -> list[Conversation]:
    requests: list[Conversation] = []
    for path in paths:
        for number, item in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))):
            requests.append(Conversation(f"{path.stem}-{number}", f"general:{item['category']}", [str(item["text"])], []))
    return requests


def responses() -> dict[str, str]:
    domain = yaml.safe_load((PROJECT_HOME / "domain.yml").read_text())
    return {name: variants[0].get("text", "") for name, variants in domain["responses"].items()}


# The bot's questions by response name, as `bot/actions/offer.py:dialogue_context` names them.
_PROMPT_OF_RESPONSE = {
    "utter_greet": "greeting", "utter_what_problem": "greeting",
    "utter_ask_symptoms": "ask_symptoms", "utter_ask_impact": "ask_impact", "utter_ask_tried": "ask_tried",
    "utter_ask_feedback": "showed_articles", "utter_offer_handoff": "offer",
    "utter_ask_lead_name": "lead_name", "utter_ask_lead_email": "lead_email", "utter_ask_lead_company": "lead_company",
    "utter_ask_lead_follow_up": "lead_follow_up", "utter_ask_lead_follow_up_team_out": "lead_follow_up",
    "utter_ask_lead_consent": "lead_consent",
}


def question_prompts(text_of: dict[str, str]) -> dict[str, str]:
    """Each question's fixed opening (the text before any `{slot}`) -> the prompt it is."""
    return {text_of[name].split("{", 1)[0]: prompt for name, prompt in _PROMPT_OF_RESPONSE.items()
            if text_of.get(name)}


def prompt_after(texts: Sequence[str], questions: dict[str, str]) -> str:
    """What the bot asked last in these replies (`answered` when it asked none of its questions)."""
    for text in reversed(texts):
        for opening, prompt in questions.items():
            if text.startswith(opening):
                return prompt
    return "answered"


def replay(stack: Stack, conversation: Conversation, text_of: dict[str, str], prefix: str) -> None:
    offer, already_lead = text_of["utter_offer_handoff"], text_of["utter_already_a_lead"]
    questions = question_prompts(text_of)
    prompt, declined = "greeting", False
    for number, message in enumerate(conversation.turns):
        conversation.prompts.append(prompt)
        conversation.declined_before.append(declined)
        replies = stack.say(f"{prefix}-{conversation.id}", message)
        texts = [r.get("text") or "" for r in replies]
        prompt = prompt_after(texts, questions)
        declined = declined or text_of["utter_offer_declined"] in texts
        if offer in texts:
            conversation.offered_at.append(number)
        if already_lead in texts:
            conversation.already_lead_at.append(number)
        if any(URL.search(t) for t in texts) or any((r.get("custom") or {}).get("url") for r in replies):
            conversation.linked_article = True


def clopper_pearson_upper(failures: int, n: int, confidence: float = 0.95) -> float:
    """Exact one-sided upper bound of a rate from `failures` in `n` trials."""
    from scipy.stats import beta

    if n == 0:
        return 1.0
    if failures >= n:
        return 1.0
    return float(beta.ppf(confidence, failures + 1, n - failures))


@dataclass(frozen=True)
class Figures:
    without_intent: int
    false_offer_conversations: int
    false_offer_upper: float
    with_intent: int
    on_time: int
    early: int
    clear_turns: int
    clear_turns_honoured: int
    declined: int
    re_offers: int
    general: int
    general_offers: int
    general_linked: int


def figures(conversations: Sequence[Conversation], general: Sequence[Conversation]) -> Figures:
    without = [c for c in conversations if not c.has_clear_intent]
    with_intent = [c for c in conversations if c.has_clear_intent]
    false_offers = [c for c in without if c.offered_at]
    on_time = [c for c in with_intent if c.clear_turns[0] in c.honoured]
    early = [c for c in with_intent if any(t < c.clear_turns[0] for t in c.offered_at)]
    declined = [c for c in conversations if c.decline_turn is not None]
    re_offers = sum(
        1 for c in declined for t in c.offered_at if t > (c.decline_turn or 0) and t not in c.clear_turns
    )
    turns = sum(len(c.clear_turns) for c in with_intent)
    honoured = sum(len(set(c.clear_turns) & c.honoured) for c in with_intent)
    return Figures(
        len(without), len(false_offers), clopper_pearson_upper(len(false_offers), len(without)),
        len(with_intent), len(on_time), len(early), turns, honoured, len(declined), re_offers,
        len(general), sum(1 for g in general if g.offered_at), sum(1 for g in general if g.linked_article),
    )


def print_table(f: Figures) -> None:
    rows = [
        ("conversations without clear intent offered", f"{f.false_offer_conversations}/{f.without_intent}"
         f" (95 % upper bound {f.false_offer_upper:.2%})", "0"),
        ("clear-intent conversations offered in the same turn",
         f"{f.on_time}/{f.with_intent} = {f.on_time / max(f.with_intent, 1):.1%}", ">= 97 %"),
        ("clear-intent conversations offered early", str(f.early), "0"),
        ("clear turns honoured (incl. asked again)", f"{f.clear_turns_honoured}/{f.clear_turns}", ""),
        ("re-offers after a decline, not asked again", f"{f.re_offers} (in {f.declined} declines)", "0"),
        ("general-assistant requests offered", f"{f.general_offers}/{f.general}", "0"),
        ("general-assistant requests answered with an article link",
         f"{f.general_linked}/{f.general} = {f.general_linked / max(f.general, 1):.1%}", "<= 2 %"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | result | target |")
    print(f"| {'-' * width} | --- | --- |")
    for name, result, target in rows:
        print(f"| {name:<{width}} | {result} | {target} |")


def print_mistakes(conversations: Sequence[Conversation], general: Sequence[Conversation], verbose: bool) -> None:
    for c in conversations:
        wrong = sorted(set(c.offered_at) - set(c.clear_turns)) or (
            c.has_clear_intent and c.clear_turns[0] not in c.honoured
        )
        if wrong or verbose:
            print(f"  {c.id:<10} {c.category:<24} offered at {c.offered_at}, clear at {c.clear_turns}")
            for number, turn in enumerate(c.turns):
                mark = ("O" if number in c.offered_at else " ") + ("C" if number in c.clear_turns else " ")
                print(f"      {mark} {number}: {turn[:140]}")
    for g in general:
        if g.offered_at or g.linked_article:
            print(f"  general {g.category:<22} {'offer' if g.offered_at else 'link '}: {g.turns[0][:120]}")


def record(path: Path, conversations: Sequence[Conversation], general: Sequence[Conversation]) -> None:
    rows = [
        {"id": c.id, "category": c.category, "turn": number, "text": text, "bot_prompt": c.prompts[number],
         "declined_before": c.declined_before[number], "clear": number in c.clear_turns,
         "offered": number in c.offered_at}
        for c in [*conversations, *general] for number, text in enumerate(c.turns)
    ]
    path.write_text(yaml.safe_dump(rows, sort_keys=False, allow_unicode=True), encoding="utf-8")
    print(f"recorded {len(rows)} turns in {path}")


def held_out_report() -> None:
    """The model's development figures, as `lantern intent tune` recorded them."""
    from bot.conversation.intent_model import TUNING_FILE, model_fingerprint, read_tuning

    tuning = read_tuning()
    if tuning is None:
        print(f"no {TUNING_FILE.name}: run `lantern intent tune`")
        return
    current = "for this corpus" if tuning.fingerprint == model_fingerprint() else "STALE: not for this corpus"
    print(f"tuning ({current}): {tuning.messages} messages by {tuning.writers} writers, C={tuning.c}; "
          f"held out by writer, thresholds by context {tuning.thresholds} give recall {tuning.held_out_recall:.1%} "
          f"with {tuning.held_out_false_offers} false offers")


def assessment_cost(texts: Sequence[str]) -> None:
    """Milliseconds per message: the assessment alone (embedding included), in this process."""
    from bot.conversation.buying_intent import DialogueContext
    from bot.conversation.intent_model import served_model, training_offerings
    from bot.knowledge.embeddings import shared_encoder
    from bot.settings import load_settings

    model = served_model(load_settings(home=PROJECT_HOME).models_dir)
    offerings = training_offerings()
    encoder = shared_encoder()
    sample = list(texts)[:500]
    for text in sample[:20]:
        model.assess(text, DialogueContext(), encoder, offerings)  # warm up
    start = time.perf_counter()
    for text in sample:
        encoder._last_query = None  # each message embedded afresh, as a new message would be
        model.assess(text, DialogueContext(), encoder, offerings)
    per_message = (time.perf_counter() - start) / max(len(sample), 1) * 1000
    print(f"assessment cost: {per_message:.2f} ms per message over {len(sample)} messages (embedding included)")


def main(argv: Sequence[str] | None = None) -> int:
    from bot.rasa_integration.training import train_if_changed
    from bot.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("test", "dev"), default="test")
    parser.add_argument("--verbose", action="store_true", help="print every conversation, not only the mistakes")
    parser.add_argument("--show-mistakes", action="store_true",
                        help="print the test set's mistakes too (a set whose mistakes were read must be retired)")
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="write every turn with its context and whether it was offered (to retire a set)")
    args = parser.parse_args(argv)
    settings = load_settings(home=PROJECT_HOME)
    train_if_changed(settings)
    held_out_report()
    if args.set == "test":
        digest = set_digest(frozen_files())
        recorded = recorded_digest()
        print(f"frozen test set SHA-256 {digest} ({'matches docs/handoff.md' if digest == recorded else 'DIFFERS from docs/handoff.md'})")
        conversations = load_conversations(sorted(TEST_SET_DIR.glob("*.yml")))
        general = load_general_requests(sorted(GENERAL_SET_DIR.glob("*.yml")))
    else:
        conversations, general = load_conversations([DEV_SET]), []
    text_of = responses()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        with ThreadPoolExecutor(VISITORS_IN_PARALLEL) as pool:
            list(pool.map(lambda c: replay(stack, c, text_of, "eval"), [*conversations, *general]))
    turns = sum(len(c.turns) for c in [*conversations, *general])
    print(f"replayed {len(conversations)} conversations and {len(general)} general requests "
          f"({turns} messages) in {time.perf_counter() - started:.0f} s")
    print_table(figures(conversations, general))
    if args.set == "dev" or args.verbose or args.show_mistakes:
        print_mistakes(conversations, general, args.verbose)
    else:  # reading them would make the set training data (docs/contributing.md)
        print("the test set's mistakes are not printed: --show-mistakes prints them, and the set is then retired")
    if args.record:
        record(args.record, conversations, general)
    assessment_cost([t for c in conversations for t in c.turns])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
