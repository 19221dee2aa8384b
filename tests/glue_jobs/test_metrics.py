"""The run's counts as CloudWatch metrics: one Embedded Metric Format line, from a real run's report."""

# Glue 5 writes the script's stdout to the job's `output` log group ("Logging for AWS Glue jobs", AWS Glue
# Developer Guide, https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html: "user stdout
# (standard output) and stderr (standard error) logs are written to the /aws-glue/jobs/output log group", or
# `<--custom-logGroup-prefix>/output`), and CloudWatch Logs extracts metrics from an event that follows the
# EMF specification (tests/emf_spec.py, with the page): the line must be that specification to the letter.

from __future__ import annotations

import pytest
from emf_spec import PublishedMetric, emf_problems, metrics_in_lines, parse_event
from local_job import NAMESPACE, STACK, run_locally

from glue_jobs.curation.metrics import CURATION_METRICS, curation_metrics_line

NOW_MS = 1_796_112_000_000


@pytest.fixture
def report(spark, zones):
    zones.arrive_sample("day1.ndjson")
    zones.arrive_sample("rejects.ndjson")
    return run_locally(spark, zones.options("2026-12-01", "r1"))


@pytest.mark.spark
def test_a_runs_report_becomes_one_emf_line_with_every_count_under_the_stack_dimension(report):
    line = curation_metrics_line(report, namespace=NAMESPACE, stack=STACK, timestamp_ms=NOW_MS)

    document = parse_event(line)
    assert emf_problems(document) == []
    assert document["_aws"]["Timestamp"] == NOW_MS
    stack = frozenset({("Stack", STACK)})
    assert metrics_in_lines(line) == {
        PublishedMetric(NAMESPACE, "InputLines", stack, 13),
        PublishedMetric(NAMESPACE, "CuratedFacilities", stack, 6),
        PublishedMetric(NAMESPACE, "QuarantinedLines", stack, 6),
        PublishedMetric(NAMESPACE, "QuarantineRatio", stack, 6 / 13),
        PublishedMetric(NAMESPACE, "DataQualityIssues", stack, report["data_quality_issues"]),
        PublishedMetric(NAMESPACE, "UnknownFields", stack, 1),
        PublishedMetric(NAMESPACE, "SnapshotFacilities", stack, 6),
    }
    # Searchable beside the metrics in the log group, without being dimensions (no metric per run).
    assert (document["snapshot_date"], document["run_id"]) == ("2026-12-01", "r1")


def test_the_specification_rules_out_what_cloudwatch_logs_would_keep_as_plain_text():
    report = {field: 1 for field, _ in CURATION_METRICS.values()} | {"snapshot_date": "d", "run_id": "r"}
    line = curation_metrics_line(report, namespace=NAMESPACE, stack=STACK, timestamp_ms=NOW_MS)
    document = parse_event(line)
    with pytest.raises(ValueError, match="single JSON object"):
        parse_event(f"INFO {line}")
    assert emf_problems({**document, "Stack": ""})
    assert emf_problems({**document, "InputLines": "13"})
    assert emf_problems({**document, "_aws": {**document["_aws"], "Timestamp": "now"}})
    without_namespace = [{**document["_aws"]["CloudWatchMetrics"][0], "Namespace": ""}]
    assert emf_problems({**document, "_aws": {**document["_aws"], "CloudWatchMetrics": without_namespace}})
