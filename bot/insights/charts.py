"""Charts for the dashboard, drawn on the server as SVG by pygal (pinned in pyproject.toml).

No JavaScript: pygal's tooltips script would be fetched from a CDN, so `js=[]` turns it off
and every chart is a self-contained <svg> the page inlines.

pygal builds the SVG in pure Python, a few tenths of a millisecond per bar: a 30-day chart
with a bar per topic per day cost more than the page's SQL. So charts are kept to what a
reader can take in (`top_series`: the largest series and "other"; `by_week`: weeks instead of
days over long periods), and each drawn chart is kept in memory, keyed by everything drawn
from (its kind, id, title, labels and values): the same data is drawn once per process, and
changed data is a different key, so a kept chart is never stale and replicas need not agree.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache
from html import escape
from typing import Any, Callable, Mapping, Sequence

import pygal
from pygal.style import Style

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#333",
    foreground_strong="#111",
    foreground_subtle="#ccc",
    colors=("#2f6f9f", "#e08a2e", "#4b9e5a", "#b84a4a", "#7a5aa8", "#3aa6a6", "#9e8a4b", "#d16ba5", "#5c6b73", "#a3c14a"),
    font_family="system-ui, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    title_font_size=14,
)
_COMMON: dict[str, Any] = dict(
    style=STYLE, js=[], disable_xml_declaration=True, width=860, height=360, legend_at_bottom=True,
    legend_at_bottom_columns=4, truncate_label=40, print_values=False, no_data_text="No data in this period",
)
OTHER = "other"
# Drawn charts kept per process: a page has at most two, and a few filters are in use at once.
KEPT_CHARTS = 64

Series = tuple[tuple[str, tuple[float, ...]], ...]
_CONFIG_SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.S)


def _svg(chart: Any, chart_id: str, title: str) -> str:
    # pygal still writes its tooltip configuration as an inline script; with no tooltip
    # script it does nothing, and the dashboard's Content-Security-Policy allows no scripts.
    svg = _CONFIG_SCRIPT.sub("", chart.render(is_unicode=True))
    label = escape(f"{title} (the numbers are in the table below)", quote=True)
    return f'<figure class="chart" data-chart="{chart_id}" role="img" aria-label="{label}">{svg}</figure>'


def _stacked_bars(title: str, labels: Sequence[str], series: Series) -> Any:
    chart = pygal.StackedBar(title=title, x_label_rotation=30, **_COMMON)
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    return chart


def _horizontal_bars(title: str, labels: Sequence[str], series: Series) -> Any:
    height = max(260, 28 * len(labels) * max(1, len(series)) // 2 + 120)
    chart = pygal.HorizontalBar(title=title, **{**_COMMON, "height": min(height, 900)})
    # pygal draws the first label at the bottom; reversed, the list reads top-down like the table.
    chart.x_labels = list(reversed(labels))
    for name, values in series:
        chart.add(name, list(reversed(values)))
    return chart


def _line(title: str, labels: Sequence[str], series: Series) -> Any:
    chart = pygal.Line(title=title, x_label_rotation=30, dots_size=3, **_COMMON)
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    return chart


def _pie(title: str, labels: Sequence[str], series: Series) -> Any:
    # Two legend columns: the outcomes' names are sentences, cut short in four.
    chart = pygal.Pie(title=title, inner_radius=0.45, **{**_COMMON, "legend_at_bottom_columns": 2, "truncate_legend": 60})
    for name, (value,) in series:
        chart.add(name, value)
    return chart


_DRAWERS: dict[str, Callable[[str, Sequence[str], Series], Any]] = {
    "stacked_bars": _stacked_bars, "horizontal_bars": _horizontal_bars, "line": _line, "pie": _pie,
}


@lru_cache(maxsize=KEPT_CHARTS)
def _drawn(kind: str, chart_id: str, title: str, labels: tuple[str, ...], series: Series) -> str:
    return _svg(_DRAWERS[kind](title, labels, series), chart_id, title)


def forget_drawn() -> None:
    """Drop every kept chart (the benchmark times drawing them afresh)."""
    _drawn.cache_clear()


def _frozen(series: Mapping[str, Sequence[float]]) -> Series:
    return tuple((name, tuple(values)) for name, values in series.items())


def stacked_bars(chart_id: str, title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    return _drawn("stacked_bars", chart_id, title, tuple(labels), _frozen(series))


def horizontal_bars(chart_id: str, title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    return _drawn("horizontal_bars", chart_id, title, tuple(labels), _frozen(series))


def line(chart_id: str, title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    return _drawn("line", chart_id, title, tuple(labels), _frozen(series))


def pie(chart_id: str, title: str, parts: Mapping[str, float]) -> str:
    return _drawn("pie", chart_id, title, (), tuple((name, (value,)) for name, value in parts.items()))


def top_series(series: dict[str, list[float]], keep: int) -> dict[str, list[float]]:
    """The `keep` series with the largest totals, in their order, and the rest summed as "other"
    (all of them when "other" would stand for a single series)."""
    if len(series) <= keep + 1:
        return series
    largest = set(sorted(series, key=lambda name: (-sum(series[name]), name))[:keep])
    rest = [values for name, values in series.items() if name not in largest]
    return {**{name: values for name, values in series.items() if name in largest}, OTHER: [sum(column) for column in zip(*rest)]}


def week_of(day: str) -> str:
    """The Monday of a 'YYYY-MM-DD' day, in the same form."""
    moment = date.fromisoformat(day)
    return (moment - timedelta(days=moment.weekday())).isoformat()


def by_week(days: Sequence[str], series: dict[str, list[float]]) -> tuple[list[str], dict[str, list[float]]]:
    """Daily values summed into weeks (labelled by their Monday)."""
    weeks = sorted({week_of(day) for day in days})
    position = {week: index for index, week in enumerate(weeks)}
    summed: dict[str, list[float]] = {name: [0] * len(weeks) for name in series}
    for index, day in enumerate(days):
        for name, values in series.items():
            summed[name][position[week_of(day)]] += values[index]
    return weeks, summed
