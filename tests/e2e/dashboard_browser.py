"""Driving the marketing dashboard in Debian's Chromium: shared by the browser test and by
scripts/dashboard_screenshots.py (which photographs a dashboard full of demo traffic)."""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlencode

from bot.insights.dashboard import PAGES
from tests.e2e.chromium import launch  # noqa: F401 - re-exported for scripts/dashboard_screenshots.py

TIMEOUT_MS = 30_000


def log_in(page: Any, base_url: str, token: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/problems*")


def chart_state(page: Any) -> dict[str, dict[str, Any]]:
    """Per chart on the page: whether it drew data (bars, slices, points) and a fingerprint of its shapes."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('figure.chart')].map(f => {
            const shapes = [...f.querySelectorAll('g.series rect, g.series path, g.series circle')];
            const empty = !!f.querySelector('.no_data');
            return [f.dataset.chart, {shapes: shapes.length, empty,
                    print: shapes.map(s => (s.getAttribute('height') || '') + (s.getAttribute('width') || '')
                                          + (s.getAttribute('d') || '') + (s.getAttribute('cy') || '')).join('|')}];
        }))"""
    )


def visit_all(page: Any, base_url: str, start: str, end: str, unit: str = "day") -> Iterator[tuple[str, Any]]:
    query = urlencode({"start": start, "end": end, "unit": unit})
    for slug, _ in PAGES:
        page.goto(f"{base_url}/{slug}?{query}")
        page.locator("figure.chart svg").first.wait_for()
        yield slug, page
