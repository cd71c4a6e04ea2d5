"""Train the Rasa model, and the buying-intent model the actions use, only when their inputs change.

The model file is named after a fingerprint of everything training reads (config,
domain, NLU and stories, Rasa's version, the sentence encoder the NLU pipeline embeds
messages with), so an unchanged project reuses its model and any change trains a new one.
The buying-intent model (bot/conversation/intent_model.py) is fingerprinted the same way.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from bot.settings import Settings

TRAINING_INPUTS = ("config.yml", "domain.yml")
TRAINING_DATA_DIR = "bot/data"


def training_fingerprint(home: Path) -> str:
    import rasa

    from bot.knowledge.embeddings import served_encoder_id

    digest = hashlib.sha256(f"rasa=={rasa.__version__}\n".encode())
    digest.update(f"encoder {served_encoder_id()}\n".encode())
    files = [home / name for name in TRAINING_INPUTS]
    files += sorted((home / TRAINING_DATA_DIR).rglob("*.yml"))
    for path in files:
        digest.update(str(path.relative_to(home)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(settings: Settings) -> Path:
    return settings.models_dir / f"lantern-{training_fingerprint(settings.home)}.tar.gz"


def train_if_changed(settings: Settings, force: bool = False) -> Path:
    """Path of the Rasa model for the current inputs, training it (and the buying-intent
    model) first if needed."""
    from bot.conversation import intent_model

    intent_model.train(settings.models_dir, force=force)
    target = model_path(settings)
    if target.exists() and not force:
        return target
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    home = settings.home
    subprocess.run(
        [
            sys.executable, "-m", "rasa", "train",
            "--config", str(home / "config.yml"),
            "--domain", str(home / "domain.yml"),
            "--data", str(home / TRAINING_DATA_DIR),
            "--out", str(settings.models_dir),
            "--fixed-model-name", target.name.removesuffix(".tar.gz"),
        ],
        cwd=home,
        check=True,
        stdout=sys.stderr,  # keep stdout for the model path
    )
    for old in settings.models_dir.glob("lantern-*.tar.gz"):
        if old != target:
            old.unlink()
    return target
