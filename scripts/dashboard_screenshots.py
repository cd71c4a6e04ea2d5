"""Photograph every page of a running dashboard into docs/images/ (the images docs/insights.md shows).

    .venv/bin/python scripts/dashboard_screenshots.py [--url http://127.0.0.1:8100] [--days 30]

Logs in with LANTERN_DASHBOARD_TOKEN from the settings, in Debian's Chromium like the browser test.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import get_settings  # noqa: E402
from tests.e2e.dashboard_browser import TIMEOUT_MS, chart_state, launch, log_in, visit_all  # noqa: E402


def main() -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=settings.dashboard_url)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--out", default=str(settings.home / "docs" / "images"))
    parser.add_argument("--prefix", default="dashboard-")
    args = parser.parse_args()
    if not settings.dashboard_token:
        print("LANTERN_DASHBOARD_TOKEN is not set: run `lantern init-env`", file=sys.stderr)
        return 2
    end = datetime.now(timezone.utc).date()
    start = end - timedelta(days=args.days - 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.set_default_timeout(TIMEOUT_MS)
        log_in(page, args.url, settings.dashboard_token)
        for slug, current in visit_all(page, args.url, start.isoformat(), end.isoformat()):
            charts = chart_state(current)
            path = out / f"{args.prefix}{slug}.png"
            current.screenshot(path=str(path))  # the viewport: the charts and the first rows of the tables
            print(f"{path}: " + ", ".join(f"{name} {state['shapes']} shapes" for name, state in charts.items()))
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
