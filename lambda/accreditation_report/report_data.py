"""report_data.json: the counts of one run's report, written beside it and read back for later runs' trend."""

from __future__ import annotations

import json
from typing import Any

from accreditation_report.model import (
    ALERT_TIERS,
    LAPSED,
    ReportInputs,
    TrendPoint,
    parse_date,
)

REPORT_DATA_VERSION = 1
TREND_COUNTS: tuple[str, ...] = (*ALERT_TIERS, LAPSED)


def report_data(inputs: ReportInputs) -> dict[str, Any]:
    """The report's aggregates as JSON-ready values (no entry lists: the CSVs beside it have every row)."""
    headline = inputs.headline
    quality = inputs.data_quality
    return {
        "report_data_version": REPORT_DATA_VERSION,
        "as_of": inputs.as_of.isoformat(),
        "run_id": inputs.run_id,
        "previous_as_of": inputs.previous_as_of.isoformat() if inputs.previous_as_of else None,
        "policy": {
            "critical_max_days": inputs.policy.critical_max_days,
            "high_max_days": inputs.policy.high_max_days,
            "medium_max_days": inputs.policy.medium_max_days,
            "expiring_window_months": inputs.policy.expiring_window_months,
        },
        "counts": {
            **{tier: headline.tiers[tier].total for tier in ALERT_TIERS},
            LAPSED: headline.lapsed,
            "newly_lapsed": headline.newly_lapsed,
            "resolved": headline.resolved,
            "expiring_in_window": headline.expiring_in_window,
            "facilities": headline.facilities,
            "accredited_facilities": headline.accredited_facilities,
        },
        "changes": {
            tier: {"new": headline.tiers[tier].new, "escalated": headline.tiers[tier].escalated}
            for tier in ALERT_TIERS
        },
        "resolved_by_resolution": headline.resolved_by_resolution,
        "weeks": [{"week_start": week.week_start.isoformat(), **week.counts} for week in inputs.weeks],
        "data_quality": {
            "available": quality.available,
            "input_lines": quality.input_lines,
            "curated": quality.curated,
            "quarantined": quality.quarantined,
            "facilities": quality.facilities,
            "data_quality_issues": quality.data_quality_issues,
            "quarantine_reasons": dict(quality.quarantine_reasons.entries),
            "issue_kinds": None if quality.issue_kinds is None else dict(quality.issue_kinds.entries),
            "unknown_fields": dict(quality.unknown_fields.entries),
        },
        "locations": {
            "report": inputs.locations.report,
            "production": inputs.locations.production,
            "latest": inputs.locations.latest,
            "curation_report": inputs.locations.curation_report,
        },
    }


def trend_point(text: str) -> TrendPoint | None:
    """The as-of and tier counts of an earlier run's report_data.json, or None when it cannot be read."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("counts"), dict):
        return None
    as_of = parse_date(document.get("as_of")) if isinstance(document.get("as_of"), str) else None
    counts = document["counts"]
    if as_of is None or not all(isinstance(counts.get(name), int) for name in TREND_COUNTS):
        return None
    return TrendPoint(as_of=as_of, counts={name: counts[name] for name in TREND_COUNTS})
