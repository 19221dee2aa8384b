"""The pipeline's CloudWatch dashboard body: one graph per concern, then a row of the run's data metrics."""

from __future__ import annotations

import functools

from infra.config import ALERT_TIERS, METRICS_NAMESPACE
from infra.metrics import (
    ALARM_PERIOD_SECONDS,
    CURATION_COUNTS,
    LAMBDA_FAILURE_METRICS,
    NEWLY_LAPSED,
    NOTIFIER_COUNTS,
    QUARANTINE_RATIO,
    SNAPSHOT_FACILITIES,
    STATE_MACHINE_FAILURE_METRICS,
    TIER_COUNTS,
    curation_dimensions,
    notifier_dimensions,
)

DAILY_SECONDS = 86_400


def _graph(
    region: str, title: str, metrics: list, stat: str = "Sum", period: int = ALARM_PERIOD_SECONDS
) -> dict:
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "stat": stat,
            "period": period,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def dashboard_body(
    *,
    region: str,
    glue_job_name: str,
    crawler_name: str,
    function_name: str,
    workgroup_name: str,
    topic_names: dict[str, str],
    stack: str,
    state_machine_arn: str,
) -> dict:
    """The dashboard as a plain dict: one graph per concern, newest runs on the right."""
    graph = functools.partial(_graph, region)
    widgets = [
        graph(
            "Pipeline executions",
            [
                ["AWS/States", metric, "StateMachineArn", state_machine_arn]
                for metric in ("ExecutionsStarted", "ExecutionsSucceeded", *STATE_MACHINE_FAILURE_METRICS)
            ],
        ),
        *glue_job_widgets(region, glue_job_name),
        graph(
            "Notifier Lambda",
            [
                ["AWS/Lambda", metric, "FunctionName", function_name]
                for metric in ("Invocations", *LAMBDA_FAILURE_METRICS)
            ],
        ),
        graph(
            "Notifier duration (ms)",
            [["AWS/Lambda", "Duration", "FunctionName", function_name]],
            stat="Maximum",
        ),
        graph(
            "Athena bytes scanned",
            # Every entry of `metrics` is an array, an expression too: [[{"expression": ..., "id": ...}]].
            [
                [
                    {
                        "expression": (
                            "SEARCH('{AWS/Athena,QueryState,QueryType,WorkGroup} "
                            f'WorkGroup="{workgroup_name}" MetricName="ProcessedBytes"\', \'Sum\', 86400)'
                        ),
                        "id": "processed",
                    }
                ]
            ],
            period=86400,
        ),
        graph(
            "Messages published",
            [["AWS/SNS", "NumberOfMessagesPublished", "TopicName", name] for name in topic_names.values()]
            + [
                ["AWS/SNS", "NumberOfNotificationsFailed", "TopicName", name] for name in topic_names.values()
            ],
        ),
        *data_metric_widgets(region, stack),
        {
            "type": "text",
            "width": 24,
            "height": 2,
            "properties": {
                "markdown": f"Crawler `{crawler_name}` runs on a first run or a schema change only; "
                "its failures and the curation job's failures arrive on the status topic."
            },
        },
    ]
    return {"widgets": widgets}


def glue_job_widgets(region: str, glue_job_name: str) -> list[dict]:
    """The curation job's tasks and elapsed time, over all its runs."""

    def metric(name: str) -> list[str]:
        dimensions = ["JobName", glue_job_name, "JobRunId", "ALL", "Type", "count"]
        return ["Glue", f"glue.driver.aggregate.{name}", *dimensions]

    return [
        _graph(
            region,
            "Glue curation job tasks",
            [metric(name) for name in ("numCompletedTasks", "numFailedTasks", "numKilledTasks")],
        ),
        _graph(region, "Glue curation job elapsed time (ms)", [metric("elapsedTime")], stat="Maximum"),
    ]


def data_metric_widgets(region: str, stack: str) -> list[dict]:
    """The row of the pipeline's own data metrics: one point per day (runs are daily, reruns add up)."""
    job = curation_dimensions(stack)
    graph = functools.partial(_graph, region)

    def metric(name: str, dimensions: dict[str, str]) -> list[str]:
        return [METRICS_NAMESPACE, name, *(part for pair in dimensions.items() for part in pair)]

    return [
        graph(
            "Curation: input lines and outcomes",
            [metric(name, job) for name in CURATION_COUNTS],
            period=DAILY_SECONDS,
        ),
        graph(
            "Curation: quarantine ratio and snapshot size",
            [metric(QUARANTINE_RATIO, job), [*metric(SNAPSHOT_FACILITIES, job), {"yAxis": "right"}]],
            stat="Maximum",
            period=DAILY_SECONDS,
        ),
        graph(
            "Notifier: alerts, new and escalated, per tier",
            [metric(name, notifier_dimensions(stack, tier)) for name in TIER_COUNTS for tier in ALERT_TIERS],
            period=DAILY_SECONDS,
        ),
        graph(
            "Notifier: expiring and lapsed accreditations",
            [
                *(metric(name, notifier_dimensions(stack)) for name in NOTIFIER_COUNTS),
                metric(NEWLY_LAPSED[0], notifier_dimensions(stack, NEWLY_LAPSED[1])),
            ],
            period=DAILY_SECONDS,
        ),
    ]
