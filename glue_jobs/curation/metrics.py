"""The run's counts as one CloudWatch Embedded Metric Format line."""

from __future__ import annotations

import json
from typing import Any

# The run's counts as CloudWatch metrics, one Embedded Metric Format line printed by main(): Glue 5 sends the
# script's stdout to the job's `output` log group, and CloudWatch Logs extracts EMF events from any log group,
# so the job needs no cloudwatch:PutMetricData. Metric name -> (report field, CloudWatch unit).
CURATION_METRICS = {
    "InputLines": ("input_lines", "Count"),
    "CuratedFacilities": ("curated", "Count"),
    "QuarantinedLines": ("quarantined", "Count"),
    "QuarantineRatio": ("rejected_ratio", "None"),
    "DataQualityIssues": ("data_quality_issues", "Count"),
    "UnknownFields": ("unknown_fields", "Count"),
    "SnapshotFacilities": ("facilities", "Count"),
}
METRICS_STACK_DIMENSION = "Stack"


def curation_metrics_line(report: dict[str, Any], *, namespace: str, stack: str, timestamp_ms: int) -> str:
    """One EMF log event (a single JSON line, nothing around it) carrying CURATION_METRICS from `report`."""
    document = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [[METRICS_STACK_DIMENSION]],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in CURATION_METRICS.items()],
                }
            ],
        },
        METRICS_STACK_DIMENSION: stack,
        **{name: report[field] for name, (field, _) in CURATION_METRICS.items()},
        "snapshot_date": report["snapshot_date"],
        "run_id": report["run_id"],
    }
    return json.dumps(document, separators=(",", ":"))
