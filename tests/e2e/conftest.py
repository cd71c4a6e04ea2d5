"""Fixtures the end-to-end tests share."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from bot.settings import Settings
from tests.e2e.chromium import CHROMIUM, launch


@pytest.fixture(scope="module")
def browser(project_settings: Settings) -> Iterator[Any]:
    """Debian's Chromium through Playwright, one per test module; missing Chromium is a skip, or a
    failure when LANTERN_REQUIRE_SERVICES=1 (`.ci/run`)."""
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM}: apt-get install chromium (scripts/install-chromium.sh)"
        if project_settings.require_services:
            pytest.fail(reason + " (LANTERN_REQUIRE_SERVICES=1 makes this a failure)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
