"""Charts for the dashboard, drawn on the server as SVG by pygal (pinned in pyproject.toml).

No JavaScript: pygal's tooltips script would be fetched from a CDN, so `js=[]` turns it off
and every chart is a self-contained <svg> the page inlines.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

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


_CONFIG_SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.S)


def _svg(chart: Any, chart_id: str) -> str:
    # pygal still writes its tooltip configuration as an inline script; with no tooltip
    # script it does nothing, and the dashboard's Content-Security-Policy allows no scripts.
    svg = _CONFIG_SCRIPT.sub("", chart.render(is_unicode=True))
    return f'<figure class="chart" data-chart="{chart_id}">{svg}</figure>'


def stacked_bars(chart_id: str, title: str, labels: Sequence[str], series: dict[str, Sequence[float]]) -> str:
    chart = pygal.StackedBar(title=title, x_label_rotation=30, **_COMMON)
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart, chart_id)


def horizontal_bars(chart_id: str, title: str, labels: Sequence[str], series: dict[str, Sequence[float]]) -> str:
    height = max(260, 28 * len(labels) * max(1, len(series)) // 2 + 120)
    chart = pygal.HorizontalBar(title=title, **{**_COMMON, "height": min(height, 900)})
    # pygal draws the first label at the bottom; reversed, the list reads top-down like the table.
    chart.x_labels = list(reversed(labels))
    for name, values in series.items():
        chart.add(name, list(reversed(values)))
    return _svg(chart, chart_id)


def line(chart_id: str, title: str, labels: Sequence[str], series: dict[str, Sequence[float]]) -> str:
    chart = pygal.Line(title=title, x_label_rotation=30, dots_size=3, **_COMMON)
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart, chart_id)


def pie(chart_id: str, title: str, parts: dict[str, float]) -> str:
    chart = pygal.Pie(title=title, inner_radius=0.45, **_COMMON)
    for name, value in parts.items():
        chart.add(name, value)
    return _svg(chart, chart_id)
