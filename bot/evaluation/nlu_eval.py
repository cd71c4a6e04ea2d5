"""`make eval-nlu`: intent quality by cross-validation, and per-message NLU cost.

Prints the intent macro-F1 of `config.yml`'s pipeline (5-fold cross-validation on
`bot/data/nlu.yml`), how often problem/question messages are taken for buying signals
and the reverse, how many examples have a near-twin in their intent (which flatters
cross-validation), and the median time to parse one message with the trained Lantern
model beside a model trained with Rasa's default (`rasa init`) pipeline.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import yaml

HOME = Path(__file__).resolve().parents[2]
NLU_DATA = HOME / "bot" / "data" / "nlu.yml"
RESULTS = HOME / "results" / "eval-nlu"
NEAR_TWIN = 0.9
PROBLEM_OR_QUESTION = {"describe_problem", "ask_question", "ask_services", "just_researching"}
BUYING = {"ask_pricing", "request_demo", "request_sales_contact", "ready_to_buy"}
# Rasa's default pipeline, as `rasa init` runs it when config.yml names none.
STOCK_CONFIG = {
    "recipe": "default.v1",
    "assistant_id": "stock",
    "language": "en",
    "pipeline": [
        {"name": "WhitespaceTokenizer"},
        {"name": "RegexFeaturizer"},
        {"name": "LexicalSyntacticFeaturizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
        {"name": "EntitySynonymMapper"},
        {"name": "ResponseSelector", "epochs": 100, "constrain_similarities": True},
        {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
    ],
}


def rasa(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "rasa", *args], cwd=HOME, check=True, stdout=subprocess.DEVNULL)


def cross_validate(config: Path, folds: int, out: Path) -> dict:
    rasa("test", "nlu", "--nlu", str(NLU_DATA), "--config", str(config), "--cross-validation",
         "--folds", str(folds), "--out", str(out))
    report = json.loads((out / "intent_report.json").read_text())
    errors = json.loads((out / "intent_errors.json").read_text())
    false_buying = [e for e in errors if e["intent"] in PROBLEM_OR_QUESTION and e["intent_prediction"]["name"] in BUYING]
    missed_buying = [e for e in errors if e["intent"] in BUYING and e["intent_prediction"]["name"] in PROBLEM_OR_QUESTION]
    support = lambda names: sum(report[n]["support"] for n in names if n in report)  # noqa: E731
    return {
        "macro_f1": report["macro avg"]["f1-score"],
        "accuracy": report.get("accuracy", report.get("micro avg", {}).get("f1-score")),
        "false_buying": (len(false_buying), support(PROBLEM_OR_QUESTION)),
        "missed_buying": (len(missed_buying), support(BUYING)),
        "examples": [(e["text"], e["intent"], e["intent_prediction"]["name"]) for e in false_buying + missed_buying],
        "worst": sorted(
            ((name, r["f1-score"]) for name, r in report.items() if isinstance(r, dict) and "support" in r
             and name not in ("macro avg", "weighted avg", "micro avg")),
            key=lambda item: item[1],
        )[:5],
    }


def train_nlu(config: Path, name: str) -> Path:
    """An NLU-only model for `config`, trained once per content of config and data and per sentence encoder."""
    from bot.knowledge.embeddings import served_encoder_id

    encoder = served_encoder_id().encode()
    fingerprint = hashlib.sha256(config.read_bytes() + NLU_DATA.read_bytes() + encoder).hexdigest()[:12]
    out = RESULTS / "models"
    target = out / f"{name}-{fingerprint}.tar.gz"
    if not target.exists():
        rasa("train", "nlu", "--nlu", str(NLU_DATA), "--config", str(config), "--out", str(out),
             "--fixed-model-name", target.name.removesuffix(".tar.gz"))
    return target


def parse_latency_ms(model: Path, texts: Sequence[str], repeats: int = 3) -> float:
    from rasa.core.agent import load_agent

    agent = asyncio.run(load_agent(model_path=str(model)))
    for text in texts[:10]:
        asyncio.run(agent.parse_message(text))  # warm up
    timings = []
    for _ in range(repeats):
        for text in texts:
            start = time.perf_counter()
            asyncio.run(agent.parse_message(text))
            timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def labelled_examples() -> list[tuple[str, str]]:
    """(text, intent) for every intent example (regex blocks are not examples)."""
    data = yaml.safe_load(NLU_DATA.read_text())
    return [(line.strip()[2:], block["intent"]) for block in data["nlu"] if "intent" in block
            for line in block["examples"].splitlines() if line.strip()]


def near_twins(threshold: float = NEAR_TWIN) -> tuple[int, int]:
    """How many examples have a near-twin in the same intent (character n-gram cosine >= threshold).

    Cross-validation cannot tell learning from recall: an example whose near-twin sits in the
    training folds is easy. This count shows whether a better score came with more twins.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    examples = labelled_examples()
    texts = [text.lower() for text, _ in examples]
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).fit_transform(texts)
    similarity = (vectors @ vectors.T).tolil()
    similarity.setdiag(0)
    similarity = similarity.tocsr()
    twins = 0
    for row, (_, intent) in enumerate(examples):
        start, end = similarity.indptr[row], similarity.indptr[row + 1]
        columns, values = similarity.indices[start:end], similarity.data[start:end]
        if any(value >= threshold and examples[column][1] == intent for column, value in zip(columns, values)):
            twins += 1
    return twins, len(examples)


def sample_texts(limit: int = 200) -> list[str]:
    texts = [text for text, _ in labelled_examples()]
    return texts[:: max(1, len(texts) // limit)][:limit]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)

    scores = cross_validate(HOME / "config.yml", args.folds, RESULTS / "cv")
    print(f"intent macro-F1 ({args.folds}-fold cross-validation): {scores['macro_f1']:.3f}  (target >= 0.90)")
    print(f"accuracy: {scores['accuracy']:.3f}")
    print(f"problem/question messages taken for buying signals: {scores['false_buying'][0]} of {scores['false_buying'][1]}")
    print(f"buying signals taken for problem/question: {scores['missed_buying'][0]} of {scores['missed_buying'][1]}")
    for text, truth, predicted in scores["examples"]:
        print(f"   {truth} -> {predicted}: {text}")
    print("weakest intents: " + ", ".join(f"{name} {f1:.2f}" for name, f1 in scores["worst"]))
    twins, total = near_twins()
    print(f"examples with a near-twin in the same intent (char n-gram cosine >= {NEAR_TWIN}): "
          f"{twins} of {total} ({twins / total:.1%})")
    if args.skip_latency:
        return 0

    stock_config = RESULTS / "stock-config.yml"
    stock_config.write_text(yaml.safe_dump(STOCK_CONFIG, sort_keys=False))
    texts = sample_texts()
    lantern_ms = parse_latency_ms(train_nlu(HOME / "config.yml", "lantern-nlu"), texts)
    stock_ms = parse_latency_ms(train_nlu(stock_config, "stock-nlu"), texts)
    print(f"NLU parse per message (median of {len(texts)} messages x 3): Lantern {lantern_ms:.1f} ms, "
          f"rasa init default {stock_ms:.1f} ms, ratio {lantern_ms / stock_ms:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
