"""The servers' console: third-party deprecation warnings hidden, Lantern's own shown."""

from __future__ import annotations

import subprocess
import sys


def test_third_party_deprecations_are_hidden_and_lanterns_warnings_shown() -> None:
    code = (
        "from bot.rasa_integration.console import quiet_third_party_warnings\n"
        "quiet_third_party_warnings()\n"
        "import warnings, sanic_cors, apscheduler\n"  # both warn on import, unfiltered
        "warnings.filterwarnings('once', category=UserWarning)\n"  # what Rasa adds later
        "import matplotlib.font_manager\n"  # pyparsing's deprecations, raised in matplotlib
        "warnings.warn_explicit('lantern says', DeprecationWarning, 'bot/x.py', 1, module='bot.x')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "lantern says" in result.stderr
    for noise in ("sanic_cors", "apscheduler", "pyparsing", "fontconfig_pattern"):
        assert noise not in result.stderr
