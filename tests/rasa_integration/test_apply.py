"""`bot.rasa_integration.apply`: on purpose, for Rasa 3.6.21 only, each patch switchable."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
import rasa

from bot.rasa_integration import PATCHES, apply, patches, selected_patches
from bot.settings import SettingsError, load_settings


@pytest.fixture
def applied(monkeypatch) -> list[str]:
    """Records which patches `apply` applies, without touching Rasa."""
    calls: list[str] = []
    monkeypatch.setattr(patches, "APPLY", {name: (lambda name=name: calls.append(name)) for name in PATCHES})
    return calls


def test_every_patch_has_a_name_and_an_applier() -> None:
    assert sorted(patches.APPLY) == sorted(PATCHES)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("all", PATCHES),
        ("none", ()),
        ("", ()),
        ("graph_plan, event_lookup", ("event_lookup", "graph_plan")),
    ],
)
def test_the_setting_selects_patches(spec: str, expected: tuple) -> None:
    assert selected_patches(spec) == expected


def test_an_unknown_patch_name_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="'graph_plans'"):
        selected_patches("graph_plans")


def test_the_setting_is_read_from_the_environment(tmp_path) -> None:
    assert load_settings(environ={}, home=tmp_path).rasa_patches == "all"
    assert load_settings(environ={"LANTERN_RASA_PATCHES": "none"}, home=tmp_path).rasa_patches == "none"


def test_apply_applies_the_selected_patches_and_says_so_in_one_line(project_settings, applied, caplog) -> None:
    caplog.set_level(logging.INFO, logger="bot.rasa_integration")
    assert apply(replace(project_settings, rasa_patches="event_lookup,kept_sessions")) == ("event_lookup", "kept_sessions")
    assert applied == ["event_lookup", "kept_sessions"]
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.rasa_integration"]
    assert line == f"Rasa {rasa.__version__} internals patched: event_lookup, kept_sessions"


def test_another_rasa_version_is_not_patched(project_settings, applied, caplog, monkeypatch) -> None:
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    assert apply(project_settings) == ()
    assert applied == []
    assert "written for Rasa 3.6.21 and this is Rasa 3.7.0" in caplog.text


def test_importing_a_channel_patches_nothing() -> None:
    import subprocess
    import sys

    code = (
        "from rasa.core.actions.action import RemoteAction; original = RemoteAction._validate_action_result\n"
        "import bot.channels.rest, bot.channels.slack, bot.channels.widget\n"
        "assert RemoteAction._validate_action_result is original"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
