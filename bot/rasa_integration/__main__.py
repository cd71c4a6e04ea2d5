"""Start a Rasa process the way Lantern runs it.

    python -m bot.rasa_integration rasa run ...      the Rasa server (Rasa's own command line)
    python -m bot.rasa_integration actions ...       the action server (rasa_sdk's command line)

Both quiet the known third-party warnings first (`console`); the Rasa server then applies
Lantern's patches of Rasa's internals (`apply`), explicitly, before Rasa loads anything, and
always refuses Rasa's silent fallback to an in-memory tracker store (`refuse_silent_fallback`).
"""

from __future__ import annotations

import logging
import sys


def main(argv: list[str]) -> None:
    from bot.rasa_integration.console import quiet_third_party_warnings

    quiet_third_party_warnings()
    if len(argv) < 1 or argv[0] not in ("rasa", "actions"):
        raise SystemExit("usage: python -m bot.rasa_integration {rasa|actions} ARGS...")
    if argv[0] == "rasa":
        import rasa.__main__

        from bot.rasa_integration import apply
        from bot.rasa_integration.tracker_store import refuse_silent_fallback
        from bot.settings import get_settings

        # Rasa sets up its own console logging once it starts; until then, `apply`'s line
        # goes out in the same format (Rasa's set-up replaces this handler, it adds none).
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s  - %(message)s")
        apply(get_settings())
        refuse_silent_fallback()  # not a speed-up: a lost database fails the turn (tracker_store.py)
        sys.argv = ["rasa", *argv[1:]]
        rasa.__main__.main()
    else:
        import rasa_sdk.__main__

        from bot.conversation.intent_model import served_model
        from bot.knowledge.embeddings import shared_encoder
        from bot.settings import get_settings

        # Loaded before the first visitor needs them (fitted here if `lantern train` didn't).
        served_model(get_settings().models_dir)
        shared_encoder()

        sys.argv = ["rasa_sdk", *argv[1:]]
        rasa_sdk.__main__.main()


if __name__ == "__main__":
    main(sys.argv[1:])
