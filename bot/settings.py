"""All of Lantern's configuration, read from the environment and an optional `.env` file.

This is the only module that reads environment variables. Everything else receives a
`Settings` object (usually through `get_settings()`), so tests can build their own.
Variables set in the process environment win over the same names in `.env`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional

from dotenv import dotenv_values


class SettingsError(ValueError):
    """A configuration value is present but unusable."""


@dataclass(frozen=True)
class Settings:
    """Lantern's configuration. Paths are absolute once loaded."""

    home: Path
    kb_dir: Path
    db_url: str
    tracker_db_url: str
    api_token: Optional[str] = None
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_host: str = "127.0.0.1"
    action_port: int = 5055
    max_message_chars: int = 2000
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    require_services: bool = False
    test_postgres_url: str = "postgresql://postgres@127.0.0.1:5432/test"
    slack_webhook_url: Optional[str] = None
    crm_webhook_url: Optional[str] = None
    crm_webhook_secret: Optional[str] = None
    business_hours: str = "Mon-Fri 09:00-17:00"
    timezone: str = "UTC"
    transcript_url_template: str = "{rasa_url}/conversations/{conversation_id}/tracker"
    notify_timeout_seconds: float = 5.0
    demo_host: str = "127.0.0.1"
    demo_port: int = 8000
    slack_bot_token: Optional[str] = None
    slack_signing_secret: Optional[str] = None
    slack_api_url: str = "https://slack.com/api/"
    # Which of the Rasa internals patches to apply (bot/rasa_integration): all, none or a list.
    rasa_patches: str = "all"
    # The cluster (`make run-cluster`, docs/deploy.md): Redis for Rasa's lock store and the
    # widget's fan-out; how many Rasa and action servers run behind nginx.
    redis_url: Optional[str] = None
    rasa_servers: int = 2
    action_servers: int = 1
    # The outbox gives up on a notification after this many attempts or this age (seconds).
    outbox_max_attempts: int = 20
    outbox_max_age_seconds: int = 86400
    outbox_retry_cap_seconds: int = 900  # longest wait between two attempts

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.action_host}:{self.action_port}"

    @property
    def demo_url(self) -> str:
        return f"http://{self.demo_host}:{self.demo_port}"

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """Browser origins the Rasa server accepts (CORS and the widget's WebSocket).

        Unset, only the demo page's own origin is allowed, so `make run` works and
        nothing else can embed the widget until the site's origin is configured.
        """
        if self.cors_origins:
            return self.cors_origins
        return (self.demo_url, f"http://localhost:{self.demo_port}")

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def env_file(self) -> Path:
        return self.home / ".env"


def _default(name: str) -> Any:
    """The default of a `Settings` field, as written in the class (the one place it is)."""
    return Settings.__dataclass_fields__[name].default


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from error
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def load_settings(
    environ: Optional[Mapping[str, str]] = None, home: Optional[Path] = None
) -> Settings:
    """Build settings from `environ` (default: the process environment) plus `<home>/.env`."""
    process_env = dict(os.environ if environ is None else environ)
    home = Path(home or process_env.get("LANTERN_HOME") or Path.cwd()).resolve()
    file_env = {k: v for k, v in dotenv_values(home / ".env").items() if v is not None}
    env = {**file_env, **process_env}

    def path_from(name: str, default: Path) -> Path:
        raw = env.get(name)
        path = Path(raw).expanduser() if raw else default
        return path if path.is_absolute() else (home / path).resolve()

    db_url = env.get("LANTERN_DB_URL") or _sqlite_url(home / "var" / "lantern.db")
    # Rasa's tracker store follows a server database (tables don't collide: Rasa's is
    # `events`), but gets its own SQLite file so the two writers don't lock each other.
    if env.get("LANTERN_TRACKER_DB_URL"):
        tracker_db_url = env["LANTERN_TRACKER_DB_URL"]
    elif db_url.startswith("sqlite"):
        tracker_db_url = _sqlite_url(home / "var" / "tracker.db")
    else:
        tracker_db_url = db_url

    origins = tuple(
        o.strip() for o in env.get("LANTERN_CORS_ORIGINS", "").split(",") if o.strip()
    )
    return Settings(
        home=home,
        kb_dir=path_from("LANTERN_KB_DIR", home / "knowledge_base"),
        db_url=db_url,
        tracker_db_url=tracker_db_url,
        api_token=env.get("LANTERN_API_TOKEN") or None,
        rasa_host=env.get("LANTERN_RASA_HOST", _default("rasa_host")),
        rasa_port=_int(env, "LANTERN_RASA_PORT", _default("rasa_port")),
        action_host=env.get("LANTERN_ACTION_HOST", _default("action_host")),
        action_port=_int(env, "LANTERN_ACTION_PORT", _default("action_port")),
        max_message_chars=_int(env, "LANTERN_MAX_MESSAGE_CHARS", _default("max_message_chars")),
        cors_origins=origins,
        require_services=_flag(env, "LANTERN_REQUIRE_SERVICES"),
        test_postgres_url=env.get("LANTERN_TEST_POSTGRES_URL", _default("test_postgres_url")),
        slack_webhook_url=env.get("LANTERN_SLACK_WEBHOOK_URL") or None,
        crm_webhook_url=env.get("LANTERN_CRM_WEBHOOK_URL") or None,
        crm_webhook_secret=env.get("LANTERN_CRM_WEBHOOK_SECRET") or None,
        business_hours=env.get("LANTERN_BUSINESS_HOURS", _default("business_hours")),
        timezone=env.get("LANTERN_TIMEZONE", _default("timezone")),
        transcript_url_template=env.get("LANTERN_TRANSCRIPT_URL", _default("transcript_url_template")),
        demo_host=env.get("LANTERN_DEMO_HOST", _default("demo_host")),
        demo_port=_int(env, "LANTERN_DEMO_PORT", _default("demo_port")),
        slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        slack_api_url=env.get("LANTERN_SLACK_API_URL") or _default("slack_api_url"),
        rasa_patches=env.get("LANTERN_RASA_PATCHES") or _default("rasa_patches"),
        redis_url=env.get("LANTERN_REDIS_URL") or None,
        rasa_servers=_int(env, "LANTERN_RASA_SERVERS", _default("rasa_servers")),
        action_servers=_int(env, "LANTERN_ACTION_SERVERS", _default("action_servers")),
        outbox_max_attempts=_int(env, "LANTERN_OUTBOX_MAX_ATTEMPTS", _default("outbox_max_attempts")),
        outbox_max_age_seconds=_int(env, "LANTERN_OUTBOX_MAX_AGE_SECONDS", _default("outbox_max_age_seconds")),
        outbox_retry_cap_seconds=_int(env, "LANTERN_OUTBOX_RETRY_CAP_SECONDS", _default("outbox_retry_cap_seconds")),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once on first use."""
    return load_settings()
