"""How the Rasa server and the action server are started and checked.

`make run` starts both through the Procfile; tests start them on free ports with the
same commands, so what is tested is what runs.
"""

from __future__ import annotations

import sys
import time

import requests

from bot.rasa_integration.training import model_path
from bot.settings import Settings


def rasa_server_command(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """Command line and extra environment for the Rasa server."""
    home = settings.home
    model = model_path(settings)
    if not model.exists():
        raise SystemExit(f"no trained model at {model}: run `lantern train` (make run does)")
    if not settings.api_token:
        raise SystemExit("LANTERN_API_TOKEN is not set: run `lantern init-env` (make run does)")
    argv = [
        # Rasa's own `rasa run`, with the patches applied first (bot/rasa_integration/__main__.py).
        sys.executable, "-m", "bot.rasa_integration", "rasa", "run",
        "--model", str(model),
        "--endpoints", str(home / "endpoints.yml"),
        "--credentials", str(home / "credentials.yml"),
        "--interface", settings.rasa_host,
        "--port", str(settings.rasa_port),
        "--enable-api",
        # The token is not on this command line (anyone on the machine could read it in `ps`):
        # bot/rasa_integration/__main__.py hands it to Rasa inside the process.
    ]
    for origin in settings.allowed_origins:
        argv += ["--cors", origin]
    env = {
        # endpoints.yml reads these; they come from settings so there is one source.
        "LANTERN_ACTION_WEBHOOK_URL": f"{settings.action_url}/webhook",
        # endpoints.yml sends it as a header with every action call (bot/rasa_integration/action_auth.py).
        "LANTERN_ACTION_SECRET": settings.action_secret,
        "LANTERN_HOME": str(home),
    }
    return argv, env


def action_server_command(settings: Settings) -> tuple[list[str], dict[str, str]]:
    argv = [
        sys.executable, "-m", "bot.rasa_integration", "actions",
        "--actions", "bot.actions",
        "--port", str(settings.action_port),
    ]
    # The SDK has no host flag; Sanic reads SANIC_HOST. Bind to loopback by default.
    return argv, {
        "SANIC_HOST": settings.action_host,
        "LANTERN_HOME": str(settings.home),
        "LANTERN_ACTION_SECRET": settings.action_secret,
    }


def servers_healthy(settings: Settings) -> bool:
    try:
        rasa = requests.get(
            f"{settings.rasa_url}/status", params={"token": settings.api_token or ""}, timeout=2
        )
        actions = requests.get(f"{settings.action_url}/health", timeout=2)
    except requests.RequestException:
        return False
    return rasa.ok and bool(rasa.json().get("model_file")) and actions.ok


def wait_until_healthy(settings: Settings, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if servers_healthy(settings):
            return
        time.sleep(1.0)
    raise TimeoutError(f"servers not healthy after {timeout:.0f} s ({settings.rasa_url}, {settings.action_url})")
