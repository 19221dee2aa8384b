"""One report run: collect the aggregates, render the page, write both copies of each file."""

from __future__ import annotations

import json

from accreditation_report.collect import collect_report_inputs
from accreditation_report.model import (
    ALERT_TIERS,
    REPORT_DATA_FILE,
    REPORT_FILE,
    ReportPolicy,
    ReportReader,
    ReportRequest,
    ReportWriter,
)
from accreditation_report.render import render_report
from accreditation_report.report_data import report_data

HTML_CONTENT_TYPE = "text/html; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"


def build_report(
    request: ReportRequest, reader: ReportReader, writer: ReportWriter, policy: ReportPolicy | None = None
) -> dict[str, object]:
    """Write report.html and report_data.json to the run's folder, then to latest/ (never ahead of it)."""
    inputs = collect_report_inputs(reader, request, policy)
    page = render_report(inputs)
    data = json.dumps(report_data(inputs), indent=2, ensure_ascii=False) + "\n"
    for folder in (request.production_location, request.latest_location):
        writer.write_text(folder + REPORT_DATA_FILE, data, JSON_CONTENT_TYPE)
        writer.write_text(folder + REPORT_FILE, page, HTML_CONTENT_TYPE)
    headline = inputs.headline
    return {
        "as_of": request.as_of.isoformat(),
        "run_id": request.run_id,
        "report": request.production_location + REPORT_FILE,
        "latest_report": request.latest_location + REPORT_FILE,
        "report_data": request.production_location + REPORT_DATA_FILE,
        "report_bytes": len(page.encode("utf-8")),
        "counts": {
            **{tier: headline.tiers[tier].total for tier in ALERT_TIERS},
            "lapsed": headline.lapsed,
            "newly_lapsed": headline.newly_lapsed,
            "resolved": headline.resolved,
        },
        "trend_runs": len(inputs.trend),
    }
