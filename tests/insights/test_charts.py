"""Charts a reader can take in, drawn once per data: top series and "other", weeks over long
periods, the weekly education score, and the kept SVG."""

from __future__ import annotations

from bot.insights import charts
from bot.insights.dashboard import education_scores


def test_the_largest_series_are_kept_and_the_rest_summed_as_other() -> None:
    series = {"a": [1, 1], "b": [5, 0], "c": [0, 9], "d": [2, 2]}
    assert charts.top_series(series, keep=2) == {"b": [5, 0], "c": [0, 9], "other": [3, 3]}
    assert charts.top_series(series, keep=3) == series  # "other" would stand for one series: keep it as itself


def test_days_are_summed_into_weeks_labelled_by_their_monday() -> None:
    days = ["2026-11-29", "2026-11-30", "2026-12-03", "2026-12-07"]  # a Sunday, then Monday and Thursday, a Monday
    weeks, summed = charts.by_week(days, {"x": [1, 2, 3, 4]})
    assert weeks == ["2026-11-23", "2026-11-30", "2026-12-07"] and summed == {"x": [1, 5, 4]}


def test_the_weekly_score_weighs_each_outcome_by_its_conversations() -> None:
    mix = {"helped": [1, 0], "read on": [0, 0], "shown only": [0, 0], "needed a person": [0, 0], "not helped": [3, 0]}
    assert education_scores(mix) == [25.0, 0.0]


def test_a_chart_is_drawn_once_per_data_and_labelled_for_screen_readers() -> None:
    charts.forget_drawn()
    first = charts.stacked_bars("c", "Title", ["d1", "d2"], {"s": [1, 2]})
    again = charts.stacked_bars("c", "Title", ["d1", "d2"], {"s": [1, 2]})
    other = charts.stacked_bars("c", "Title", ["d1", "d2"], {"s": [1, 3]})
    assert again is first and other != first  # pygal names each drawing afresh: identical means kept
    assert 'role="img" aria-label="Title (the numbers are in the table below)"' in first
    assert "<script" not in first
