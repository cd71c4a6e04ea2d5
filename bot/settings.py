"""All of Lantern's configuration, read from the environment and an optional `.env` file.

This is the only module that reads environment variables. Everything else receives a
`Settings` object (usually through `get_settings()`), so tests can build their own.
Variables set in the process environment win over the same names in `.env`.
"""

from __future__ import annotations

import hashlib
import hmac
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
    transcript_url_template: str = "{rasa_url}/webhooks/widget/transcript/{token}"
    notify_timeout_seconds: float = 5.0
    demo_host: str = "127.0.0.1"
    demo_port: int = 8000
    slack_bot_token: Optional[str] = None
    slack_signing_secret: Optional[str] = None
    slack_api_url: str = "https://slack.com/api/"
    # Live handoff (docs/handoff.md): the Slack channel reps work in, and how long a visitor
    # who chose "Chat now" waits for a rep before being told honestly that nobody came.
    sales_channel: Optional[str] = None
    handoff_wait_seconds: int = 180
    # The marketing dashboard (bot/insights/dashboard.py): its login token and where it listens.
    dashboard_token: Optional[str] = None
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8100
    # Days between two articles on the editorial calendar.
    editorial_cadence_days: int = 7
    # Which of the Rasa internals patches to apply (bot/rasa_integration): all, none or a list.
    rasa_patches: str = "all"
    # Signs widget session tokens and reps' transcript links; unset, derived from the API token.
    secret_key: Optional[str] = None
    # Sent by the Rasa server with every action call and checked by the action server.
    action_secret_value: Optional[str] = None
    max_body_bytes: int = 262144
    max_metadata_bytes: int = 2048
    max_json_depth: int = 16
    # Messages per window (a minute): from one client address, and into one conversation.
    rate_per_client: int = 60
    rate_per_conversation: int = 20
    rate_window_seconds: int = 60
    max_connections_per_client: int = 8
    # Visitor messages per conversation session; past it the visitor is asked to start afresh.
    max_turns_per_session: int = 200
    retention_days: int = 30
    lead_retention_days: int = 365
    transcript_link_hours: int = 72
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
    def dashboard_url(self) -> str:
        return f"http://{self.dashboard_host}:{self.dashboard_port}"

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def live_handoff_enabled(self) -> bool:
        """"Chat now" reaches a person only through the Slack app and a sales channel."""
        return bool(self.slack_enabled and self.sales_channel)

    @property
    def signing_key(self) -> bytes:
        """The key for widget session tokens and transcript links.

        `LANTERN_SECRET_KEY` when set; otherwise derived from the API token, which
        `make run` generates, so every process of one installation derives the same key.
        """
        if self.secret_key:
            return self.secret_key.encode()
        if not self.api_token:
            raise SettingsError("set LANTERN_SECRET_KEY or LANTERN_API_TOKEN (make run generates one)")
        return hmac.new(self.api_token.encode(), b"lantern-signing-key", hashlib.sha256).hexdigest().encode()

    @property
    def action_secret(self) -> str:
        """The shared secret between the Rasa server and the action server."""
        if self.action_secret_value:
            return self.action_secret_value
        return hmac.new(self.signing_key, b"lantern-action-server", hashlib.sha256).hexdigest()

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
        sales_channel=env.get("LANTERN_SALES_CHANNEL") or None,
        handoff_wait_seconds=_int(env, "LANTERN_HANDOFF_WAIT", _default("handoff_wait_seconds")),
        secret_key=env.get("LANTERN_SECRET_KEY") or None,
        action_secret_value=env.get("LANTERN_ACTION_SECRET") or None,
        max_body_bytes=_int(env, "LANTERN_MAX_BODY_BYTES", _default("max_body_bytes")),
        rate_per_client=_int(env, "LANTERN_RATE_PER_CLIENT", _default("rate_per_client")),
        rate_per_conversation=_int(env, "LANTERN_RATE_PER_CONVERSATION", _default("rate_per_conversation")),
        rate_window_seconds=_int(env, "LANTERN_RATE_WINDOW_SECONDS", _default("rate_window_seconds")),
        max_connections_per_client=_int(
            env, "LANTERN_MAX_CONNECTIONS_PER_CLIENT", _default("max_connections_per_client")
        ),
        max_turns_per_session=_int(env, "LANTERN_MAX_TURNS_PER_SESSION", _default("max_turns_per_session")),
        retention_days=_int(env, "LANTERN_RETENTION_DAYS", _default("retention_days")),
        lead_retention_days=_int(env, "LANTERN_LEAD_RETENTION_DAYS", _default("lead_retention_days")),
        transcript_link_hours=_int(env, "LANTERN_TRANSCRIPT_LINK_HOURS", _default("transcript_link_hours")),
        dashboard_token=env.get("LANTERN_DASHBOARD_TOKEN") or None,
        dashboard_host=env.get("LANTERN_DASHBOARD_HOST", _default("dashboard_host")),
        dashboard_port=_int(env, "LANTERN_DASHBOARD_PORT", _default("dashboard_port")),
        editorial_cadence_days=_int(env, "LANTERN_EDITORIAL_CADENCE_DAYS", _default("editorial_cadence_days")),
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
