"""Rasa's own checks on the project: data validation and the conversation tests."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.actions.discovery import DISCOVERY_SLOTS
from bot.actions.handoff import LEAD_SLOTS
from bot.rasa_integration.training import train_if_changed
from tests.conftest import PROJECT_HOME

pytestmark = pytest.mark.slow


def rasa(*args: str, cwd: Path = PROJECT_HOME) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


UNUSED_UTTERANCE = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule")
ACTION_SOURCES = "\n".join(p.read_text() for p in (PROJECT_HOME / "bot" / "actions").glob("*.py"))


def test_rasa_data_validate_finds_no_problem() -> None:
    result = rasa("data", "validate", "--domain", "domain.yml", "--data", "bot/data", "--config", "config.yml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = [line for line in output.splitlines() if "UserWarning" in line]
    # Responses uttered by custom actions or forms are invisible to the validator; every
    # other warning is a real problem.
    for line in warnings:
        match = UNUSED_UTTERANCE.search(line)
        assert match, f"unexpected validation warning: {line}"
        name = match.group(1)
        used_by_form = name.startswith("utter_ask_") and name.removeprefix("utter_ask_") in DISCOVERY_SLOTS + LEAD_SLOTS
        used_by_action = f'"{name}"' in ACTION_SOURCES or f'"{name.rsplit("_", 1)[0]}_' in ACTION_SOURCES
        assert used_by_form or used_by_action, f"response {name} is used nowhere"


def test_conversation_tests_pass(project_settings, tmp_path: Path) -> None:
    model = train_if_changed(project_settings)
    result = rasa(
        "test", "core", "--model", str(model), "--stories", "tests/test_conversations.yml",
        "--fail-on-prediction-errors", "--out", str(tmp_path / "results"),
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = (tmp_path / "results" / "failed_test_stories.yml").read_text()
    assert "stories: []" in report or "story:" not in report, report
