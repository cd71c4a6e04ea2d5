"""Rasa's own checks on the project: data validation and the conversation tests."""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.training import train_if_changed
from tests.conftest import PROJECT_HOME

pytestmark = pytest.mark.slow


def rasa(*args: str, cwd: Path = PROJECT_HOME) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def test_rasa_data_validate_finds_no_problem() -> None:
    result = rasa(
        "data", "validate", "--domain", "domain.yml", "--data", "bot/data", "--config", "config.yml",
        "--fail-on-warnings",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversation_tests_pass(project_settings, tmp_path: Path) -> None:
    model = train_if_changed(project_settings)
    result = rasa(
        "test", "core", "--model", str(model), "--stories", "tests/test_conversations.yml",
        "--fail-on-prediction-errors", "--out", str(tmp_path / "results"),
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = (tmp_path / "results" / "failed_test_stories.yml").read_text()
    assert "stories: []" in report or "story:" not in report, report
