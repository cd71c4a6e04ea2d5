"""The dashboard over HTTP: the login, every page and export, the calendar, bad input."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import pytest
import requests

from bot.insights.dashboard import _TABLES_OF, PAGES, make_dashboard_server, parse_filter
from bot.knowledge.embeddings import shared_encoder
from tests.insights import fixture_data
from tests.loopback import serving

TOKEN = "correct-horse-battery-staple"
WEEK = {"start": "2026-11-30", "end": "2026-12-06"}


@pytest.fixture
def dashboard(sqlite_url: str, project_settings) -> Iterator[str]:
    fixture_data.load(sqlite_url)
    settings = replace(project_settings, db_url=sqlite_url, dashboard_token=TOKEN, dashboard_port=0)
    with serving(make_dashboard_server(settings, shared_encoder)) as url:
        yield url


@pytest.fixture
def session(dashboard: str) -> requests.Session:
    s = requests.Session()
    response = s.post(f"{dashboard}/login", data={"token": TOKEN}, allow_redirects=False)
    assert response.status_code == 303 and "HttpOnly" in response.headers["Set-Cookie"]
    assert TOKEN not in response.headers["Set-Cookie"]
    return s


def test_nothing_without_the_token(dashboard: str) -> None:
    assert requests.get(f"{dashboard}/problems", allow_redirects=False).headers["Location"] == "/login"
    assert requests.get(f"{dashboard}/export/funnel.csv").status_code == 401
    assert requests.get(f"{dashboard}/calendar.ics").status_code == 401
    wrong = requests.post(f"{dashboard}/login", data={"token": "guess"}, allow_redirects=False)
    assert wrong.status_code == 401 and "not right" in wrong.text
    forged = requests.get(f"{dashboard}/problems", cookies={"lantern_dashboard": "0" * 64}, allow_redirects=False)
    assert forged.status_code == 303
    assert requests.get(f"{dashboard}/export/funnel.csv", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_every_page_draws_its_charts_and_tables(dashboard: str, session: requests.Session) -> None:
    for slug, _ in PAGES:
        page = session.get(f"{dashboard}/{slug}", params=WEEK)
        assert page.status_code == 200, slug
        assert page.text.count("<svg") >= 1 and "<script" not in page.text, slug
        for table in _TABLES_OF[slug]:
            assert f'data-table="{table}"' in page.text and f"/export/{table}.csv?" in page.text, (slug, table)
        assert "dana@" not in page.text  # emails are masked


def test_every_table_exports_as_csv(dashboard: str, session: requests.Session) -> None:
    funnel = session.get(f"{dashboard}/export/funnel.csv", params=WEEK)
    assert funnel.headers["Content-Type"].startswith("text/csv") and "attachment" in funnel.headers["Content-Disposition"]
    lines = funnel.text.splitlines()
    assert lines[0] == "step,conversations,conversion_from_previous,of_visitors" and lines[1].startswith("visitors,8,")
    for tables in _TABLES_OF.values():
        for table in tables:
            assert session.get(f"{dashboard}/export/{table}.csv", params=WEEK).status_code == 200, table
    assert session.get(f"{dashboard}/export/nope.csv").status_code == 404


def test_the_filter_changes_the_numbers(dashboard: str, session: requests.Session) -> None:
    week = session.get(f"{dashboard}/export/funnel.csv", params=WEEK).text.splitlines()[1]
    first_day = session.get(f"{dashboard}/export/funnel.csv", params={"start": "2026-11-30", "end": "2026-11-30"}).text
    assert week.startswith("visitors,8,") and first_day.splitlines()[1].startswith("visitors,2,")


def test_gaps_keep_off_domain_apart_and_feed_the_calendar(dashboard: str, session: requests.Session) -> None:
    inside = session.get(f"{dashboard}/export/in_domain_gaps.csv", params=WEEK).text
    outside = session.get(f"{dashboard}/export/off_domain_questions.csv", params=WEEK).text
    assert "how do i get backlinks" in inside and "banana" not in inside and "banana bread recipe" in outside
    calendar = session.get(f"{dashboard}/export/calendar.csv", params=WEEK).text.splitlines()
    assert len(calendar) == 2 and "How do I get backlinks?" in calendar[1]
    ics = session.get(f"{dashboard}/calendar.ics", params=WEEK)
    assert ics.headers["Content-Type"].startswith("text/calendar")
    assert ics.text.startswith("BEGIN:VCALENDAR\r\n") and ics.text.count("BEGIN:VEVENT") == 1
    assert "SUMMARY:Write: How do I get backlinks?" in ics.text
    assert all(len(line.encode()) <= 75 for line in ics.text.split("\r\n"))


def test_a_suggestion_marked_written_leaves_the_calendar(dashboard: str, session: requests.Session) -> None:
    suggestions = session.get(f"{dashboard}/export/suggestions.csv", params=WEEK).text.splitlines()
    header = suggestions[0].split(",")
    key = suggestions[1].split(",")[header.index("key")]
    marked = session.post(f"{dashboard}/suggestions/{key}", data={"status": "written", "title": "t"}, allow_redirects=False)
    assert marked.status_code == 303
    assert len(session.get(f"{dashboard}/export/calendar.csv", params=WEEK).text.splitlines()) <= 1
    assert ",written" in session.get(f"{dashboard}/export/suggestions.csv", params=WEEK).text
    assert session.post(f"{dashboard}/suggestions/{key}", data={"status": "burnt"}).status_code == 400
    assert session.post(f"{dashboard}/suggestions/not-a-key", data={"status": "written"}).status_code == 400
    assert requests.post(f"{dashboard}/suggestions/{key}", data={"status": "open"}).status_code == 401


def test_bad_filters_get_a_clear_400(dashboard: str, session: requests.Session) -> None:
    for params in ({"start": "yesterday"}, {"start": "2026-12-06", "end": "2026-11-30"}, {"unit": "hour"},
                   {"start": "2000-01-01", "end": "2026-12-01"}):
        response = session.get(f"{dashboard}/funnel", params=params)
        assert response.status_code == 400 and response.text, params
    assert session.get(f"{dashboard}/nowhere").status_code == 404


def test_parse_filter_defaults_to_the_last_30_days() -> None:
    from datetime import date

    period, unit = parse_filter({}, today=date(2026, 12, 1))
    assert (period.start, period.end, unit) == (date(2026, 11, 2), date(2026, 12, 1), "day")
