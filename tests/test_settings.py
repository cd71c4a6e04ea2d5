from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_put_both_databases_under_var(tmp_path: Path) -> None:
    settings = load_settings(environ={}, home=tmp_path)
    assert settings.db_url == f"sqlite:///{tmp_path / 'var' / 'lantern.db'}"
    assert settings.tracker_db_url == f"sqlite:///{tmp_path / 'var' / 'tracker.db'}"
    assert settings.kb_dir == tmp_path / "knowledge_base"
    assert settings.api_token is None
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert settings.action_url == "http://127.0.0.1:5055"


def test_a_server_database_url_also_holds_the_tracker(tmp_path: Path) -> None:
    url = "postgresql://u@db.example:5432/lantern"
    settings = load_settings(environ={"LANTERN_DB_URL": url}, home=tmp_path)
    assert settings.tracker_db_url == url


def test_process_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LANTERN_API_TOKEN=from-file\nLANTERN_MAX_MESSAGE_CHARS=500\n")
    settings = load_settings(environ={"LANTERN_API_TOKEN": "from-env"}, home=tmp_path)
    assert settings.api_token == "from-env"
    assert settings.max_message_chars == 500


def test_relative_kb_dir_is_resolved_against_home(tmp_path: Path) -> None:
    settings = load_settings(environ={"LANTERN_KB_DIR": "other_kb"}, home=tmp_path)
    assert settings.kb_dir == tmp_path / "other_kb"


@pytest.mark.parametrize("value", ["abc", "0", "-3"])
def test_bad_numbers_are_reported_by_name(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="LANTERN_RASA_PORT"):
        load_settings(environ={"LANTERN_RASA_PORT": value}, home=tmp_path)


def test_cors_origins_are_a_comma_separated_list(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"LANTERN_CORS_ORIGINS": "https://a.example, https://b.example,"}, home=tmp_path
    )
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_live_handoff_needs_the_slack_app_and_a_sales_channel(tmp_path: Path) -> None:
    off = load_settings(environ={"LANTERN_SALES_CHANNEL": "C1"}, home=tmp_path)
    assert not off.live_handoff_enabled and off.handoff_wait_seconds == 180
    slack = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert not load_settings(environ=slack, home=tmp_path).live_handoff_enabled
    on = load_settings(environ={**slack, "LANTERN_SALES_CHANNEL": "C1", "LANTERN_HANDOFF_WAIT": "45"}, home=tmp_path)
    assert on.live_handoff_enabled and on.sales_channel == "C1" and on.handoff_wait_seconds == 45
    with pytest.raises(SettingsError, match="LANTERN_HANDOFF_WAIT"):
        load_settings(environ={"LANTERN_HANDOFF_WAIT": "soon"}, home=tmp_path)
def test_cluster_and_outbox_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.settings import SettingsError, load_settings

    defaults = load_settings(environ={}, home=tmp_path)
    assert (defaults.redis_url, defaults.rasa_servers, defaults.action_servers) == (None, 2, 1)
    assert (defaults.outbox_max_attempts, defaults.outbox_max_age_seconds) == (20, 86400)
    chosen = load_settings(
        environ={"LANTERN_REDIS_URL": "redis://127.0.0.1:6379/2", "LANTERN_RASA_SERVERS": "4",
                 "LANTERN_OUTBOX_MAX_ATTEMPTS": "3", "LANTERN_OUTBOX_MAX_AGE_SECONDS": "600"},
        home=tmp_path,
    )
    assert (chosen.redis_url, chosen.rasa_servers, chosen.outbox_max_attempts, chosen.outbox_max_age_seconds) == (
        "redis://127.0.0.1:6379/2", 4, 3, 600)
    import pytest

    with pytest.raises(SettingsError, match="LANTERN_RASA_SERVERS"):
        load_settings(environ={"LANTERN_RASA_SERVERS": "0"}, home=tmp_path)
