"""The pipeline's alarms as MetricAlarm arguments by name suffix: AWS failures, run data, the missing run."""

from __future__ import annotations

import pulumi

from infra.config import METRICS_NAMESPACE
from infra.metrics import (
    ALARM_PERIOD_SECONDS,
    LAMBDA_FAILURE_METRICS,
    QUARANTINE_RATIO,
    SNAPSHOT_FACILITIES,
    STATE_MACHINE_FAILURE_METRICS,
    curation_dimensions,
    notifier_dimensions,
)

# Hourly data points: the shortest period whose alarms may look back more than a day (PutMetricAlarm allows
# a day in all for periods under an hour, seven days from an hour up).
HOURLY_SECONDS = 3600
# Where each alarm's meaning, threshold and what to do when it fires are written.
RUNBOOK = "see docs/deploy.md, Alarms"


def service_alarms(
    *, notifier_function_name: pulumi.Input[str], state_machine_arn: pulumi.Input[str]
) -> dict[str, dict]:
    """Any notifier error or throttle, any failed, timed-out or aborted execution."""
    watched = [
        (f"notifier-{metric.lower()}", "AWS/Lambda", metric, {"FunctionName": notifier_function_name})
        for metric in LAMBDA_FAILURE_METRICS
    ]
    watched += [
        (
            f"executions-{metric.removeprefix('Executions').lower()}",
            "AWS/States",
            metric,
            {"StateMachineArn": state_machine_arn},
        )
        for metric in STATE_MACHINE_FAILURE_METRICS
    ]
    return {
        alarm: {
            "alarm_description": f"{namespace} {metric} >= 1 in {ALARM_PERIOD_SECONDS} s",
            "namespace": namespace,
            "metric_name": metric,
            "dimensions": dimensions,
            "statistic": "Sum",
            "period": ALARM_PERIOD_SECONDS,
            "evaluation_periods": 1,
            "threshold": 1,
            "comparison_operator": "GreaterThanOrEqualToThreshold",
            "treat_missing_data": "notBreaching",
        }
        for alarm, namespace, metric, dimensions in watched
    }


def missing_run_alarm(*, state_machine_arn: pulumi.Input[str], hours: int) -> dict:
    """No run succeeded in the last `hours` hours: each hourly sum of ExecutionsSucceeded is 0 or missing.

    One datapoint per hour, all `hours` of them breaching (M = N): Step Functions publishes nothing in an hour
    without executions, so missing data is breaching. PutMetricAlarm limits Period x EvaluationPeriods to
    604,800 s, and to 86,400 s for periods under an hour: the 5-minute period of the failure alarms could not
    look back 26 hours, an hourly one can look back up to 168.
    """
    return {
        "alarm_description": (
            f"No execution of the pipeline succeeded in the last {hours} hours (schedule stopped, deleted or "
            f"failing every day): {RUNBOOK}"
        ),
        "namespace": "AWS/States",
        "metric_name": "ExecutionsSucceeded",
        "dimensions": {"StateMachineArn": state_machine_arn},
        "statistic": "Sum",
        "period": HOURLY_SECONDS,
        "evaluation_periods": hours,
        "datapoints_to_alarm": hours,
        "threshold": 1,
        "comparison_operator": "LessThanThreshold",
        "treat_missing_data": "breaching",
    }


def data_alarms(*, stack: str, max_rejected_ratio: float) -> dict[str, dict]:
    """The alarms on the pipeline's own data metrics, by name suffix (MetricAlarm arguments)."""
    job = curation_dimensions(stack)
    early_warning = max_rejected_ratio / 2
    return {
        "quarantine-ratio": _run_alarm(
            f"A run quarantined more than {early_warning:.2%} of its input lines, half of "
            f"maxRejectedRatio ({max_rejected_ratio:.2%}), above which the job refuses the snapshot",
            _run_metric(QUARANTINE_RATIO, job, "Maximum"),
            threshold=early_warning,
            comparison="GreaterThanThreshold",
        ),
        "no-curated-facilities": _run_alarm(
            "A run read input lines but curated no facility from them",
            _run_expression(
                "nothingcurated",
                "IF(input > 0 AND curated == 0, 1, 0)",
                "input lines but nothing curated",
                job,
                input="InputLines",
                curated="CuratedFacilities",
            ),
            threshold=1,
            comparison="GreaterThanOrEqualToThreshold",
        ),
        "empty-snapshot": _run_alarm(
            "A run published a snapshot with no facility at all, so no accreditation can alert",
            _run_metric(SNAPSHOT_FACILITIES, job, "Minimum"),
            threshold=1,
            comparison="LessThanThreshold",
        ),
        "empty-watch-list": _run_alarm(
            "The notifier found no expiring and no lapsed accreditation in a run",
            _run_expression(
                "watched",
                "expiring + lapsed",
                "expiring and lapsed accreditations",
                notifier_dimensions(stack),
                expiring="ExpiringAccreditations",
                lapsed="LapsedAccreditations",
            ),
            threshold=1,
            comparison="LessThanThreshold",
        ),
    }


def _run_alarm(summary: str, metric: dict, *, threshold: float, comparison: str) -> dict:
    """An alarm on one hourly point of a run's metrics. Missing data is not breaching: a day without a run
    is the missing-run alarm's concern, not this one's."""
    return {
        "alarm_description": f"{summary}: {RUNBOOK}",
        **metric,
        "evaluation_periods": 1,
        "threshold": threshold,
        "comparison_operator": comparison,
        "treat_missing_data": "notBreaching",
    }


def _run_metric(metric_name: str, dimensions: dict[str, str], statistic: str) -> dict:
    return {
        "namespace": METRICS_NAMESPACE,
        "metric_name": metric_name,
        "dimensions": dimensions,
        "statistic": statistic,
        "period": HOURLY_SECONDS,
    }


def _run_expression(
    expression_id: str, expression: str, label: str, dimensions: dict[str, str], **sums: str
) -> dict:
    """`expression` over hourly sums of the run's metrics, each named in it by its key in `sums`: the one
    series the alarm evaluates."""
    queries = [
        {
            "id": query_id,
            "metric": {
                "namespace": METRICS_NAMESPACE,
                "metric_name": metric_name,
                "dimensions": dimensions,
                "period": HOURLY_SECONDS,
                "stat": "Sum",
            },
            "return_data": False,
        }
        for query_id, metric_name in sums.items()
    ]
    result = {"id": expression_id, "expression": expression, "label": label, "return_data": True}
    return {"metric_queries": [*queries, result]}
