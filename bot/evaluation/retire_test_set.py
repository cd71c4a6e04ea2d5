"""Turn a used test set into training data for the buying-intent model.

A test set that has been run against several models, or whose mistakes anyone has read, no
longer measures anything honestly: it becomes training data and a new blind set is written
(docs/handoff.md). `make eval-intent ARGS="--record FILE"` replays the set and writes every
turn with where the conversation stood when it arrived (what the bot had just asked, whether
an offer had been declined); this module turns that record into corpus files, one writer per
test writer (`t1-…` conversations become `t1-part-NN.yml`).

The test writers marked which turns ask to buy, not which kind of "no" the others are. So:
a marked turn is `clear`, and so is a yes to the offer (any turn the lead form follows); the rest take the hard-negative category their conversation was
written for (a "market prices" conversation trains `market_prices`), and only where the
conversation's category leaves the class open (interest, other purchases) does the current
model choose among the classes that are not `clear`. The writers' clear/not-clear line is
never changed.

    python -m bot.evaluation.retire_test_set RECORD.yml
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import yaml

from bot.conversation.buying_intent import CLASSES, CORPUS_DIR, BotPrompt, DialogueContext

# Test-set categories (conversations) -> corpus categories (their turns without clear intent).
CATEGORY_OF = {
    "sales-words-in-problem": "sales_words_in_problem",
    "own-pricing-or-sales": "own_pricing_or_sales",
    "other-purchase": "other_purchase",
    "market-prices": "market_prices",
    "third-party": "third_party",
    "hypothetical": "hypothetical",
    "negated": "negation",
    "meaning-or-cost-of-problem": "meaning_of_term",
    "injection": "prompt_injection",
    "off-domain": "off_domain",
    "interest": "interest_services",
    "clear-after-interest": "interest_services",
}
# Where the writer's category does not fix the class among none / interest / elsewhere.
MODEL_CHOOSES = {"interest_services": ("none", "interest"), "other_purchase": ("none", "elsewhere")}
PER_FILE = 150


def corpus_items(rows: Sequence[dict[str, Any]], choose: Any) -> dict[str, list[dict[str, Any]]]:
    """Corpus items per writer. `choose(texts, contexts, classes)` picks a class per text."""
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    open_items: list[dict[str, Any]] = []
    for number, row in enumerate(rows):
        general = str(row["category"]).startswith("general:")
        following = rows[number + 1] if number + 1 < len(rows) and rows[number + 1]["id"] == row["id"] else None
        writer = str(row["id"]).split("-", 1)[0]
        prompt = str(row["bot_prompt"])
        in_form = prompt.startswith("lead_")
        if row["clear"]:
            label, category = "clear", "clear_retired"
        elif not in_form and following is not None and following["bot_prompt"] == "lead_name":
            # A yes to the offer (the lead form follows it): wanting to talk to the team. Whatever the
            # prompt recorded before it: an offer added to an answer is recorded as `answered`.
            label, category = "clear", "accepted_offer"
        elif general:
            label, category = "none", "small_talk" if row["category"] == "general:small-talk" else "off_domain"
        elif in_form or prompt == BotPrompt.OFFER.value:
            label, category = "none", "answer"
        else:
            category = CATEGORY_OF.get(str(row["category"]), "problem" if row["turn"] == 0 else "answer")
            label = "none"
        item = {"text": str(row["text"]), "label": label, "category": category,
                "topic": "off-domain" if general else "", "bot_prompt": prompt,
                "declined_before": bool(row["declined_before"])}
        if label == "none" and category in MODEL_CHOOSES and not in_form:
            open_items.append(item)
        items[writer].append(item)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for item in open_items:
        groups[MODEL_CHOOSES[str(item["category"])]].append(item)
    for classes, chosen in groups.items():
        picks = choose([item["text"] for item in chosen],
                       [DialogueContext(BotPrompt(item["bot_prompt"]), item["declined_before"]) for item in chosen],
                       classes)
        for item, pick in zip(chosen, picks):
            # `elsewhere` is stored as its corpus form: label none, category other_purchase.
            item["label"] = "none" if pick == "elsewhere" else pick
            if pick == "none" and item["category"] == "other_purchase":
                item["category"] = "answer"
    return items


def model_choice(models_dir: Path) -> Any:
    """The served model's most likely class among `classes`, per text."""
    from bot.conversation.intent_model import served_model, training_offerings
    from bot.knowledge.embeddings import shared_encoder

    model, offerings = served_model(models_dir), training_offerings()

    def choose(texts: list[str], contexts: list[DialogueContext], classes: tuple[str, ...]) -> list[str]:
        scores = model.scores(texts, shared_encoder().encode(texts), contexts, offerings)
        columns = [CLASSES.index(c) for c in classes]
        return [classes[int(row[columns].argmax())] for row in scores]

    return choose


def write_corpus(items: dict[str, list[dict[str, Any]]], corpus_dir: Path = CORPUS_DIR) -> list[Path]:
    written = []
    for writer, writer_items in sorted(items.items()):
        for start in range(0, len(writer_items), PER_FILE):
            path = corpus_dir / f"{writer}-part-{start // PER_FILE + 1:02d}.yml"
            if path.exists():
                raise FileExistsError(f"{path} exists: a writer id is used once")
            path.write_text(yaml.safe_dump(writer_items[start : start + PER_FILE], sort_keys=False,
                                           allow_unicode=True, width=120), encoding="utf-8")
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    from bot.evaluation.stack import PROJECT_HOME
    from bot.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record", type=Path)
    args = parser.parse_args(argv)
    rows = yaml.safe_load(args.record.read_text(encoding="utf-8"))
    items = corpus_items(rows, model_choice(load_settings(home=PROJECT_HOME).models_dir))
    for path in write_corpus(items):
        print(path.relative_to(PROJECT_HOME))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
