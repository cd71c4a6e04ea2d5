"""`make eval-intent`: does Lantern offer a rep exactly when it should?

Replays the labelled conversations in `tests/eval/intent_conversations.yml` through the
REST channel of a real stack (trained model, Rasa server, action server) and prints:
offers in conversations without buying intent (target 0), clear-intent conversations
offered in the reply to the clear message (target >= 95%), re-offers after a decline
(target 0).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import yaml

from bot.evaluation.stack import PROJECT_HOME, Stack, running_stack
from bot.rasa_integration.training import train_if_changed
from bot.settings import load_settings

CONVERSATIONS = PROJECT_HOME / "tests" / "eval" / "intent_conversations.yml"
NO_INTENT = {"information", "interest", "negated", "off-domain"}
CLEAR = {"clear", "clear-after-discovery", "decline-then-continue"}


@dataclass
class Conversation:
    id: str
    category: str
    turns: list[str]
    clear_turn: Optional[int] = None
    decline_turn: Optional[int] = None
    offered_at: list[int] = field(default_factory=list)


def offer_text() -> str:
    domain = yaml.safe_load((PROJECT_HOME / "domain.yml").read_text())
    return domain["responses"]["utter_offer_handoff"][0]["text"]


def load_conversations(path: Path = CONVERSATIONS) -> list[Conversation]:
    data = yaml.safe_load(path.read_text())
    return [
        Conversation(c["id"], c["category"], list(c["turns"]), c.get("clear_turn"), c.get("decline_turn"))
        for c in data["conversations"]
    ]


def replay(stack: Stack, conversation: Conversation, offer: str) -> None:
    for number, message in enumerate(conversation.turns):
        replies = stack.say(f"eval-{conversation.id}", message)
        if any((r.get("text") or "") == offer for r in replies):
            conversation.offered_at.append(number)


def report(conversations: Sequence[Conversation], verbose: bool) -> None:
    no_intent = [c for c in conversations if c.category in NO_INTENT]
    clear = [c for c in conversations if c.category in CLEAR]
    declined = [c for c in conversations if c.decline_turn is not None]
    wrong_offers = sum(len(c.offered_at) for c in no_intent) + sum(
        len([t for t in c.offered_at if t < (c.clear_turn or 0)]) for c in clear
    )
    on_time = [c for c in clear if c.clear_turn in c.offered_at]
    re_offers = sum(len([t for t in c.offered_at if t > c.decline_turn]) for c in declined)
    print(f"conversations: {len(conversations)} ({len(no_intent)} without buying intent, {len(clear)} with)")
    print(f"offers in conversations/turns without buying intent: {wrong_offers}  (target 0)")
    print(f"clear-intent conversations offered in the same turn: {len(on_time)}/{len(clear)} "
          f"= {len(on_time) / max(len(clear), 1):.1%}  (target >= 95%)")
    print(f"re-offers after a decline: {re_offers}  (target 0)")
    for c in conversations:
        expected = [] if c.category in NO_INTENT else [c.clear_turn]
        if c.offered_at != expected or verbose:
            print(f"  {c.id:<12} {c.category:<24} offered at {c.offered_at}, expected {expected}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    train_if_changed(load_settings(home=PROJECT_HOME))
    conversations = load_conversations()
    offer = offer_text()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        for conversation in conversations:
            replay(stack, conversation, offer)
    report(conversations, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
