"""The report's charts, drawn by pygal as inline SVG when the report is built: no script, nothing fetched."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any
from xml.etree import ElementTree

import pygal
from pygal.etree import etree as pygal_etree
from pygal.style import Style

from accreditation_report.model import (
    ALERT_TIERS,
    CRITICAL,
    HIGH,
    LAPSED,
    LATER,
    MEDIUM,
    WINDOW_TIERS,
    ReportPolicy,
    StateCount,
    TrendPoint,
    WeekBucket,
)

# The Lambda zip carries no lxml, so pygal builds its SVG with the standard library's ElementTree;
# rendering the same way everywhere keeps the tests' SVG identical to the function's.
pygal_etree.to_etree()

TIER_COLORS = {
    CRITICAL: "#b3261e",
    HIGH: "#e8710a",
    MEDIUM: "#f2c200",
    LATER: "#8c9aa6",
    LAPSED: "#4a2c6b",
}
FACILITY_COLORS = ("#1f5f8b", "#6fb07f")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Liberation Sans', Arial, sans-serif"
WIDTH = 960
STATE_BARS = 25


def _style(colors: Sequence[str]) -> Style:
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#222222",
        foreground_strong="#111111",
        foreground_subtle="#d9d9d9",
        opacity="1",
        opacity_hover="0.85",
        colors=tuple(colors),
        font_family=FONT,
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        title_font_size=15,
        value_font_size=11,
    )


def _cleaned(description: str) -> Callable[[ElementTree.Element], ElementTree.Element]:
    """pygal always adds an inline script (its tooltips' config), comments naming its web site and the
    title 'Pygal'; the report has no script, and the title becomes the chart's accessible name."""

    def clean(root: ElementTree.Element) -> ElementTree.Element:
        for parent in root.iter():
            for child in list(parent):
                local_name = str(child.tag).rsplit("}", 1)[-1]
                if child.tag is ElementTree.Comment or local_name == "script":
                    parent.remove(child)
                elif local_name == "title" and parent is root:
                    child.text = description
        return root

    return clean


def _config(name: str, colors: Sequence[str], height: int, **options: object) -> dict[str, object]:
    return {
        "style": _style(colors),
        "width": WIDTH,
        "height": height,
        # The default is a tooltip script on a CDN; the report loads nothing.
        "js": [],
        "disable_xml_declaration": True,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 5,
        "print_values": False,
        "show_y_guides": True,
        "show_x_guides": False,
        "margin": 12,
        # pygal leaves the bottom legend out of the view box under rotated x labels without it.
        "margin_bottom": 40,
        "truncate_legend": -1,
        "classes": ["pygal-chart", f"chart-{name}"],
        **options,
    }


def _integer_ticks(values: Sequence[int]) -> list[int]:
    """Whole-number y labels, about eight of them (counts have no fractions)."""
    top = max([*values, 1])
    step = next(s for s in (m * 10**e for e in range(16) for m in (1, 2, 5)) if top / s <= 8)
    return list(range(0, top + step, step))


def _render(chart: Any, name: str, description: str) -> str:
    # A stable id instead of pygal's random one: the same inputs give a byte-identical report.
    chart.uuid = name
    chart.add_xml_filter(_cleaned(description))
    return chart.render(is_unicode=True)


def weekly_expiry_chart(weeks: Sequence[WeekBucket], policy: ReportPolicy) -> str:
    """Accreditations expiring per ISO week over the stage-2 window, stacked by tier."""
    chart = pygal.StackedBar(
        **_config(
            "weekly",
            [TIER_COLORS[tier] for tier in WINDOW_TIERS],
            height=380,
            x_label_rotation=50,
            y_title="accreditations expiring",
            x_title="ISO week of valid_until",
            no_data_text="nothing expires in the window",
        )
    )
    chart.x_labels = [week.label for week in weeks]
    chart.y_labels = _integer_ticks([sum(week.counts.values()) for week in weeks])
    for tier in WINDOW_TIERS:
        chart.add(policy.label(tier), [week.counts[tier] for week in weeks])
    return _render(chart, "weekly", "Accreditations expiring per week, by tier")


def trend_chart(points: Sequence[TrendPoint]) -> str:
    """Tier counts of the previous runs and this one (the last point)."""
    tiers = (*ALERT_TIERS, LAPSED)
    chart = pygal.Line(
        **_config(
            "trend",
            [TIER_COLORS[tier] for tier in tiers],
            height=340,
            x_label_rotation=50,
            show_minor_x_labels=False,
            x_labels_major_every=max(1, math.ceil(len(points) / 15)),
            dots_size=3,
            stroke_style={"width": 2},
            y_title="accreditations",
            no_data_text="no runs yet",
        )
    )
    chart.x_labels = [point.as_of.isoformat() for point in points]
    chart.y_labels = _integer_ticks([count for point in points for count in point.counts.values()])
    for tier in tiers:
        chart.add(tier, [point.counts.get(tier, 0) for point in points])
    return _render(chart, "trend", "Alert tier counts per run")


def states_chart(states: Sequence[StateCount]) -> str:
    """Facilities and accredited facilities of the states with the most facilities."""
    shown = list(states[:STATE_BARS])
    chart = pygal.HorizontalBar(
        **_config(
            "states",
            FACILITY_COLORS,
            height=90 + 26 * max(1, len(shown)),
            no_data_text="no facilities",
        )
    )
    # HorizontalBar draws the first label at the bottom; reversed, the largest state is on top.
    shown.reverse()
    chart.x_labels = [state.state or "(blank)" for state in shown]
    chart.y_labels = _integer_ticks([state.facilities for state in shown])
    chart.add("facilities", [state.facilities for state in shown])
    chart.add("accredited facilities", [state.accredited_facilities for state in shown])
    return _render(chart, "states", "Facilities and accredited facilities per state")
