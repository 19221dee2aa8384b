"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing loaded from anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import TypeVar

from accreditation_report.charts import (
    STATE_BARS,
    TIER_COLORS,
    states_chart,
    trend_chart,
    weekly_expiry_chart,
)
from accreditation_report.model import (
    ALERT_TIERS,
    AlertEntry,
    DataQuality,
    Headline,
    Listing,
    ReportInputs,
    ReportPolicy,
    ResolvedEntry,
    StateCount,
)

Row = TypeVar("Row")

# Nothing may load: no script, no remote style, font or image; inline styles and SVG only.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #d9d9d9; --band: #f5f6f7; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1040px; padding: 24px 28px 48px; color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 16px 0 6px; }
p { margin: 6px 0; }
.muted { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px;
  margin: 16px 0; }
.card { border: 1px solid var(--rule); border-left: 6px solid var(--tier); border-radius: 4px;
  padding: 10px 12px; }
.card .label { font-size: 13px; color: var(--muted); }
.card .count { font-size: 30px; font-weight: 700; line-height: 1.15; }
.card .delta { font-size: 13px; }
.totals { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 4px 0 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td { white-space: nowrap; }
td.wrap { white-space: normal; }
tbody tr:nth-child(even) td { background: #fbfbfc; }
.mark { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 11px; font-weight: 700;
  letter-spacing: .02em; white-space: nowrap; border: 1px solid currentColor; }
.mark-new { color: #0b57d0; }
.mark-escalated { color: #b3261e; }
.mark-newly-lapsed { color: #fff; background: #4a2c6b; border-color: #4a2c6b; }
.mark-lapsed { color: #4a2c6b; }
.tier { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; }
.chart svg { width: 100%; height: auto; display: block; }
.note { font-size: 13px; color: var(--muted); }
code { font-size: 13px; word-break: break-all; }
dl.where { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 14px; }
dl.where dt { font-weight: 600; }
dl.where dd { margin: 0; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 0 28px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid-page; }
  section, .card, .chart, tr { break-inside: avoid-page; }
  thead { display: table-header-group; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _number(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _table(
    headers: Sequence[tuple[str, str]], rows: Iterable[Row], cells: Callable[[Row], Sequence[str]]
) -> str:
    """A table; headers are (title, cell class: "num", "wrap" or "") pairs, cells already escaped HTML."""

    def cls(css: str) -> str:
        return f" class={css}" if css else ""

    head = "".join(f"<th{cls(css)}>{escape(title)}</th>" for title, css in headers)
    body = []
    for row in rows:
        values = cells(row)
        body.append(
            "<tr>"
            + "".join(f"<td{cls(css)}>{value}</td>" for (_, css), value in zip(headers, values, strict=True))
            + "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _omitted_note(listing: Listing[Row], what: str) -> str:
    if not listing.omitted:
        return ""
    return f'<p class="note">… and {listing.omitted:,} more {what} not shown here (see the CSV files).</p>'


def _mark(entry: AlertEntry) -> str:
    if not entry.mark:
        return ""
    css = "mark-" + entry.mark.lower().replace(" ", "-")
    return f'<span class="mark {css}">{escape(entry.mark)}</span>'


def _tier_swatch(tier: str) -> str:
    return f'<span class="tier" style="background:{TIER_COLORS[tier]}"></span>'


def _card(tier: str, label: str, count: int, details: Sequence[str]) -> str:
    delta = " · ".join(details)
    return (
        f'<div class="card" style="--tier:{TIER_COLORS[tier]}"><div class="label">{escape(label)}</div>'
        f'<div class="count">{count:,}</div><div class="delta">{escape(delta) or "&nbsp;"}</div></div>'
    )


def _headline(headline: Headline, policy: ReportPolicy, first_run: bool) -> str:
    cards = []
    for tier in ALERT_TIERS:
        counts = headline.tiers[tier]
        details = [] if first_run else [f"{counts.new:,} new", f"{counts.escalated:,} escalated"]
        cards.append(_card(tier, policy.label(tier), counts.total, details))
    lapsed_details = [] if first_run else [f"{headline.newly_lapsed:,} newly lapsed"]
    cards.append(_card("lapsed", "lapsed (no renewal)", headline.lapsed, lapsed_details))
    resolved_details = [
        f"{count:,} {name.replace('_', ' ')}" for name, count in headline.resolved_by_resolution.items()
    ]
    cards.append(_card("later", "resolved since the last run", headline.resolved, resolved_details))
    totals = (
        f'<div class="totals"><span><strong>{headline.facilities:,}</strong> facilities</span>'
        f"<span><strong>{headline.accredited_facilities:,}</strong> with an accreditation</span>"
        f"<span><strong>{headline.expiring_in_window:,}</strong> accreditations expire within "
        f"{policy.expiring_window_months} months</span>"
        "</div>"
    )
    return f'<div class="cards">{"".join(cards)}</div>{totals}'


_ALERT_HEADERS = (
    ("", ""),
    ("days", "num"),
    ("valid until", ""),
    ("facility", "wrap"),
    ("state", ""),
    ("accreditation body", "wrap"),
    ("accreditation id", ""),
    ("tier", ""),
)


def _alert_cells(entry: AlertEntry) -> Sequence[str]:
    tier = "lapsed" if entry.lapsed else entry.priority
    return (
        _mark(entry),
        f"{entry.days_until_expiry:,}",
        escape(entry.valid_until),
        f'{escape(entry.facility_name) or "<em>(no name)</em>"}<br><span class="muted">'
        f"{escape(entry.facility_id)}</span>",
        escape(entry.state),
        escape(entry.accreditation_body),
        escape(entry.accreditation_id),
        _tier_swatch(tier) + escape(tier),
    )


def _alerts_table(listing: Listing[AlertEntry], empty: str) -> str:
    if not listing.entries:
        return f"<p>{escape(empty)}</p>"
    return _table(_ALERT_HEADERS, listing.entries, _alert_cells) + _omitted_note(listing, "entries")


def _resolved_cells(entry: ResolvedEntry) -> Sequence[str]:
    return (
        f"{escape(entry.facility_name)}<br><span class=muted>{escape(entry.facility_id)}</span>",
        escape(entry.state),
        escape(entry.accreditation_body),
        escape(entry.accreditation_id),
        escape(entry.previous_priority),
        escape(entry.resolution.replace("_", " ")),
        escape(entry.detail),
    )


def _resolved(inputs: ReportInputs) -> str:
    if inputs.previous_as_of is None:
        return "<p>This is the first run: there is no earlier run to compare with.</p>"
    listing = inputs.resolved
    if not listing.entries:
        return f"<p>Nothing that alerted on {inputs.previous_as_of} stopped alerting.</p>"
    headers = (
        ("facility", "wrap"),
        ("state", ""),
        ("accreditation body", "wrap"),
        ("accreditation id", ""),
        ("was", ""),
        ("resolution", ""),
        ("detail", "wrap"),
    )
    return _table(headers, listing.entries, _resolved_cells) + _omitted_note(listing, "resolved entries")


def _states(listing: Listing[StateCount]) -> str:
    if not listing.entries:
        return "<p>No facilities.</p>"
    chart_note = (
        f'<p class="note">The chart shows the {STATE_BARS} states with the most facilities.</p>'
        if len(listing.entries) > STATE_BARS
        else ""
    )

    def cells(state: StateCount) -> Sequence[str]:
        share = state.accredited_facilities / state.facilities if state.facilities else 0.0
        return (
            escape(state.state) or "<em>(blank)</em>",
            f"{state.facilities:,}",
            f"{state.accredited_facilities:,}",
            f"{share:.0%}",
        )

    headers = (("state", ""), ("facilities", "num"), ("accredited", "num"), ("share", "num"))
    return (
        f'<div class="chart">{states_chart(listing.entries)}</div>{chart_note}'
        + _table(headers, listing.entries, cells)
        + _omitted_note(listing, "states")
    )


def _counts_table(title: str, listing: Listing[tuple[str, int]] | None, name: str, absent: str) -> str:
    if listing is None:
        return f"<h3>{escape(title)}</h3><p class=note>{escape(absent)}</p>"
    if not listing.entries:
        return f"<h3>{escape(title)}</h3><p>None.</p>"
    table = _table(
        ((name, "wrap"), ("count", "num")), listing.entries, lambda item: (escape(item[0]), f"{item[1]:,}")
    )
    return f"<h3>{escape(title)}</h3>{table}{_omitted_note(listing, 'kinds')}"


def _data_quality(quality: DataQuality) -> str:
    if not quality.available:
        return "<p>No curation report was found for this run.</p>"
    lines = (
        ("non-blank input lines", quality.input_lines),
        ("curated (new or changed facilities)", quality.curated),
        ("quarantined lines", quality.quarantined),
        ("facilities in the snapshot", quality.facilities),
        ("field-level data-quality issues", quality.data_quality_issues),
    )
    summary = _table(
        (("", "wrap"), ("count", "num")), lines, lambda line: (escape(line[0]), _number(line[1]))
    )
    return (
        f"{summary}<div class=columns><div>"
        + _counts_table("Quarantined lines by reason", quality.quarantine_reasons, "reason", "")
        + "</div><div>"
        + _counts_table(
            "Field issues by kind",
            quality.issue_kinds,
            "field: issue",
            "This curation report does not count issues by kind.",
        )
        + "</div><div>"
        + _counts_table("Unknown fields (ignored)", quality.unknown_fields, "field", "")
        + "</div></div>"
    )


def _where(inputs: ReportInputs) -> str:
    locations = inputs.locations
    rows = [
        ("this report", locations.report),
        ("results of this run", locations.production),
        ("latest results", locations.latest),
    ]
    if locations.curation_report:
        rows.append(("curation report", locations.curation_report))
    items = "".join(f"<dt>{escape(label)}</dt><dd><code>{escape(where)}</code></dd>" for label, where in rows)
    files = (
        "accreditation_alerts.csv, resolved_accreditations.csv, expiring_accreditations.csv, "
        "lapsed_accreditations.csv, facilities_by_state.csv, facility_metrics.csv, report_data.json"
    )
    return f'<dl class="where">{items}</dl><p class="note">Every row is in the CSV files there: {files}.</p>'


def _comparison(inputs: ReportInputs) -> str:
    if inputs.previous_as_of is None:
        return "First run: there is no earlier run, so every alert counts as new."
    return f"Changes are counted against the run of {inputs.previous_as_of}."


def render_report(inputs: ReportInputs) -> str:
    """The whole report page."""
    as_of = inputs.as_of.isoformat()
    first_run = inputs.previous_as_of is None
    changed_title = "Changed since the last run" if not first_run else "Changed"
    trend_note = (
        f'<p class="note">{inputs.unreadable_previous_runs} earlier run(s) had an unreadable '
        "report_data.json and are left out.</p>"
        if inputs.unreadable_previous_runs
        else ""
    )
    sections = [
        f"<header><h1>Accreditation report, as of {escape(as_of)}</h1>"
        f'<p class="muted">Run <code>{escape(inputs.run_id)}</code> · '
        f"{escape(_comparison(inputs))}</p></header>",
        f"<section><h2>Headline</h2>{_headline(inputs.headline, inputs.policy, first_run)}</section>",
        "<section><h2>Expiring per week</h2>"
        f'<p class="note">Accreditations expiring within {inputs.policy.expiring_window_months} months, '
        "per ISO week, stacked by tier.</p>"
        f'<div class="chart">{weekly_expiry_chart(inputs.weeks, inputs.policy)}</div></section>',
        "<section><h2>Most urgent</h2>"
        '<p class="note">Lapsed first (longest lapsed on top), then by days until expiry.</p>'
        f"{_alerts_table(inputs.urgent, 'Nothing alerts today.')}</section>",
    ]
    if not first_run:
        sections.append(
            f"<section><h2>{changed_title}</h2>"
            '<p class="note">New, escalated and newly lapsed entries, most urgent first.</p>'
            f"{_alerts_table(inputs.changed, 'Nothing new, escalated or newly lapsed.')}</section>"
        )
    sections += [
        f"<section><h2>Trend</h2><p class=note>Tier counts over the last {len(inputs.trend)} run(s), "
        f'this one last.</p>{trend_note}<div class="chart">{trend_chart(inputs.trend)}</div></section>',
        f"<section><h2>Resolved since the last run</h2>{_resolved(inputs)}</section>",
        f"<section><h2>Facilities per state</h2>{_states(inputs.states)}</section>",
        f"<section><h2>Data quality</h2>{_data_quality(inputs.data_quality)}</section>",
        f"<section><h2>Where the results are</h2>{_where(inputs)}</section>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Accreditation report {escape(as_of)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )
