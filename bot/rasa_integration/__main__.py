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
        from bot.privacy.redact import install_log_redaction

        settings = get_settings()
        install_log_redaction()
        apply(settings)
        refuse_silent_fallback()  # not a speed-up: a lost database fails the turn (tracker_store.py)
        # The API token joins Rasa's arguments here, inside the process: changing sys.argv
        # does not change the command line other users see in the process list.
        token = ["--auth-token", settings.api_token] if "--enable-api" in argv and settings.api_token else []
        sys.argv = ["rasa", *argv[1:], *token]
        rasa.__main__.main()
    else:
        import rasa_sdk.__main__

        from bot.conversation.intent_model import served_model
        from bot.knowledge.embeddings import shared_encoder
        from bot.privacy.redact import install_log_redaction
        from bot.rasa_integration.action_auth import require_action_secret
        from bot.settings import get_settings

        # Loaded before the first visitor needs them (fitted here if `lantern train` didn't).
        served_model(get_settings().models_dir)
        shared_encoder()
        install_log_redaction()
        require_action_secret(get_settings().action_secret)

        sys.argv = ["rasa_sdk", *argv[1:]]
        rasa_sdk.__main__.main()


if __name__ == "__main__":
    main(sys.argv[1:])
