"""The marketing dashboard in a real browser (Debian's Chromium driven by Playwright): log in,
every chart draws data, the date filter changes them, the CSV and iCalendar exports download.
Screenshots land in results/screenshots/dashboard/."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import pytest

from bot.insights.dashboard import PAGES, make_dashboard_server
from bot.knowledge.embeddings import shared_encoder
from bot.settings import Settings
from tests.e2e.dashboard_browser import TIMEOUT_MS, chart_state, log_in, visit_all
from tests.insights import fixture_data
from tests.loopback import serving

pytestmark = pytest.mark.slow
TOKEN = "browser-test-token"
SHOTS = "results/screenshots/dashboard"


@pytest.fixture
def dashboard(sqlite_url: str, project_settings: Settings) -> Iterator[str]:
    fixture_data.load(sqlite_url)
    settings = replace(project_settings, db_url=sqlite_url, dashboard_token=TOKEN, dashboard_port=0)
    with serving(make_dashboard_server(settings, shared_encoder)) as url:
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()


def test_log_in_every_chart_has_data_and_the_filter_changes_them(page, dashboard: str, project_settings: Settings) -> None:
    page.goto(f"{dashboard}/funnel")
    assert page.url.endswith("/login")
    page.fill("input[name=token]", "wrong")
    page.click("button[type=submit]")
    assert "not right" in page.content()
    log_in(page, dashboard, TOKEN)
    page.console_errors.clear()  # the refused token's 401 above
    shots = project_settings.home / SHOTS
    shots.mkdir(parents=True, exist_ok=True)
    week: dict[str, dict] = {}
    for slug, current in visit_all(page, dashboard, "2026-11-30", "2026-12-06"):
        state = chart_state(current)
        assert state, slug
        for chart, drawn in state.items():
            assert drawn["shapes"] >= 1 and not drawn["empty"], (slug, chart)
        week[slug] = state
        current.screenshot(path=str(shots / f"{slug}.png"), full_page=True)
    assert page.console_errors == []  # nothing blocked, nothing fetched from elsewhere

    # The filter: the first day alone (two conversations, both on SEO) draws other shapes.
    page.goto(f"{dashboard}/funnel?start=2026-11-30&end=2026-12-06")
    page.fill("input[name=start]", "2026-11-30")
    page.fill("input[name=end]", "2026-11-30")
    page.click("form.filter button[type=submit]")
    page.wait_for_url("**/funnel?start=2026-11-30&end=2026-11-30*")
    page.locator("figure.chart svg").first.wait_for()
    assert chart_state(page)["funnel"]["print"] != week["funnel"]["funnel"]["print"]
    for slug in ("problems", "outcomes", "teaching"):
        page.goto(f"{dashboard}/{slug}?start=2026-11-30&end=2026-11-30")
        assert chart_state(page) != week[slug], slug
    assert [p for p, _ in PAGES] == list(week)


def test_exports_download(page, dashboard: str) -> None:
    log_in(page, dashboard, TOKEN)
    page.goto(f"{dashboard}/funnel?start=2026-11-30&end=2026-12-06")
    with page.expect_download() as download:
        page.click("section[data-table=funnel] a.export")
    csv_text = open(download.value.path(), encoding="utf-8").read()
    assert download.value.suggested_filename == "funnel-2026-11-30-2026-12-06.csv"
    assert csv_text.splitlines()[1].startswith("visitors,8,")
    page.goto(f"{dashboard}/calendar?start=2026-11-30&end=2026-12-06")
    with page.expect_download() as download:
        page.click("text=Download iCalendar")
    ics = open(download.value.path(), encoding="utf-8").read()
    assert ics.startswith("BEGIN:VCALENDAR") and "How do I get backlinks?" in ics
    for section in page.locator("section[data-table]").all():
        with page.expect_download() as download:
            section.locator("a.export").click()
        assert download.value.suggested_filename.endswith(".csv")
    page.click("section[data-table=suggestions] button:has-text('mark written')")
    page.wait_for_url("**/calendar?*")
    assert "Nothing in this period" in page.locator("section[data-table=calendar]").inner_text()
