from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.handoff.business_hours import BusinessHours, check_schedule, reply_expectation
from bot.handoff.contact import check_email, check_follow_up, check_name
from bot.settings import SettingsError, load_settings


@pytest.mark.parametrize("text", ["dana@harbourfoods.com", " Dana.Reyes+lantern@Harbour-Foods.co.uk "])
def test_good_emails_are_accepted_and_the_domain_lowercased(text: str) -> None:
    checked = check_email(text)
    assert checked.ok and checked.value == text.strip().rsplit("@", 1)[0] + "@" + text.strip().rsplit("@", 1)[1].lower()


@pytest.mark.parametrize(
    "text, reason",
    [
        ("dana at harbour", "needs an @"),
        ("dana@", "isn't a valid domain"),
        ("dana@localhost", "isn't a valid domain"),
        ("@harbour.com", "before the @"),
        ("dana@harbour..com", "isn't a valid domain"),
    ],
)
def test_bad_emails_get_the_reason(text: str, reason: str) -> None:
    checked = check_email(text)
    assert not checked.ok and reason in checked.reason


def test_names_need_letters_and_payloads_are_refused() -> None:
    assert check_name("  Dana   Reyes ").value == "Dana Reyes"
    assert not check_name("12345").ok and not check_name('/affirm{"x": 1}').ok and not check_name("x" * 101).ok


@pytest.mark.parametrize("text, value", [("email please", "email"), ("/call", "call"), ("chat now", "chat now"), ("give me a ring", "call")])
def test_follow_up_choices(text: str, value: str) -> None:
    assert check_follow_up(text).value == value


HOURS = BusinessHours.parse("Mon-Fri 09:00-17:30", "Europe/London")


def test_business_hours_in_the_teams_time_zone() -> None:
    assert HOURS.is_open(datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc))  # Thursday 10:00 London
    assert not HOURS.is_open(datetime(2026, 11, 26, 18, 0, tzinfo=timezone.utc))
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    assert HOURS.next_opening(saturday).strftime("%A %H:%M") == "Monday 09:00"


def test_the_visitor_is_promised_only_what_the_schedule_allows() -> None:
    inside = reply_expectation(HOURS, datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc), "call")
    outside = reply_expectation(HOURS, datetime(2026, 11, 27, 20, 0, tzinfo=timezone.utc), "email")
    assert "in now" in inside and "call you" in inside
    assert "back Monday at 09:00 (Europe/London)" in outside and "email you" in outside


def test_bad_schedules_are_refused() -> None:
    for spec in ("Mon-Fri 9-5", "Xyz 09:00-10:00", "Mon 18:00-09:00"):
        with pytest.raises(ValueError):
            BusinessHours.parse(spec, "UTC")


def test_company_is_trimmed_to_what_is_stored_not_refused() -> None:
    from bot.handoff.contact import MAX_COMPANY_CHARS, check_company

    assert check_company("  Harbour   Foods ").value == "Harbour Foods"
    assert check_company("x" * 500).value == "x" * MAX_COMPANY_CHARS
    assert not check_company("   ").ok


@pytest.mark.parametrize(
    "environ, name",
    [
        ({"LANTERN_BUSINESS_HOURS": "weekdays 9-5"}, "LANTERN_BUSINESS_HOURS"),
        ({"LANTERN_TIMEZONE": "Mars/Olympus"}, "LANTERN_TIMEZONE"),
    ],
)
def test_a_bad_schedule_is_refused_at_start_up(tmp_path: Path, environ: dict, name: str) -> None:
    settings = load_settings(environ=environ, home=tmp_path)  # read as given ...
    with pytest.raises(SettingsError, match=name):
        check_schedule(settings)  # ... and refused by `lantern` before anything starts
