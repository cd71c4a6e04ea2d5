"""How the servers are started: no secret on a command line, the action server's secret shared."""


from bot.rasa_integration.action_auth import SECRET_HEADER, secret_refusal
from bot.rasa_integration.servers import action_server_command, rasa_server_command
from bot.settings import load_settings
from tests.conftest import PROJECT_HOME


def test_the_api_token_is_not_on_the_command_line_and_both_servers_get_the_action_secret(monkeypatch) -> None:
    settings = load_settings(environ={"LANTERN_API_TOKEN": "very-secret-token"}, home=PROJECT_HOME)
    monkeypatch.setattr("bot.rasa_integration.servers.model_path", lambda _: PROJECT_HOME / "pyproject.toml")
    argv, env = rasa_server_command(settings)
    assert "very-secret-token" not in " ".join(argv) and "--auth-token" not in argv
    _, action_env = action_server_command(settings)
    assert env["LANTERN_ACTION_SECRET"] == action_env["LANTERN_ACTION_SECRET"] == settings.action_secret
    assert settings.action_secret not in ("", settings.api_token)


def test_the_action_server_refuses_calls_without_the_shared_secret() -> None:
    assert secret_refusal("s", None) == f"missing {SECRET_HEADER}"
    assert secret_refusal("s", "t") == f"wrong {SECRET_HEADER}"
    assert secret_refusal("s", "s") is None

    # The running action server refusing a direct call: tests/e2e/test_security.py.
