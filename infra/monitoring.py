"""Monitoring: failure events and alarms to the status topic, and the pipeline's CloudWatch dashboard."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import ALERT_TIERS, METRICS_NAMESPACE
from infra.notifications import POWERTOOLS_SERVICE_NAME
from infra.stack import StackContext
from pipeline.settings import DEFAULT_CURATION_POLICY

TYPE_TOKEN = "healthcare:index:Monitoring"
ALARM_PERIOD_SECONDS = 300
# Hourly data points: the shortest period whose alarms may look back more than a day (PutMetricAlarm allows
# a day in all for periods under an hour, seven days from an hour up).
HOURLY_SECONDS = 3600
DAILY_SECONDS = 86_400
GLUE_FAILED_JOB_STATES = ("FAILED", "TIMEOUT", "ERROR", "STOPPED")
# Failures of the state machine, which always ends FAILED after its own failure notification.
STATE_MACHINE_FAILURE_METRICS = ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")
LAMBDA_FAILURE_METRICS = ("Errors", "Throttles")

# The data metrics, in METRICS_NAMESPACE with the dimension STACK_DIMENSION = the stack's resource prefix.
# Published by glue_jobs/curate_facilities.py (EMF lines on the job's stdout) and by the notifier (Powertools
# Metrics, which adds its `service` dimension); tests/infra/test_metrics_contract.py reads both sides.
STACK_DIMENSION = "Stack"
TIER_DIMENSION = "Tier"
NOTIFIER_SERVICE_DIMENSION = "service"
CURATION_COUNTS = (
    "InputLines",
    "CuratedFacilities",
    "QuarantinedLines",
    "DataQualityIssues",
    "UnknownFields",
)
QUARANTINE_RATIO = "QuarantineRatio"
SNAPSHOT_FACILITIES = "SnapshotFacilities"
NOTIFIER_COUNTS = ("ExpiringAccreditations", "LapsedAccreditations")
# Lapsed accreditations are listed in the critical digest, so its change counts carry the newly lapsed ones.
NEWLY_LAPSED = ("NewlyLapsedAlerts", "critical")
TIER_COUNTS = ("Alerts", "NewAlerts", "EscalatedAlerts")


def curation_dimensions(stack: str) -> dict[str, str]:
    return {STACK_DIMENSION: stack}


def notifier_dimensions(stack: str, tier: str | None = None) -> dict[str, str]:
    dimensions = {STACK_DIMENSION: stack, NOTIFIER_SERVICE_DIMENSION: POWERTOOLS_SERVICE_NAME}
    return {**dimensions, TIER_DIMENSION: tier} if tier else dimensions


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
            "failing every day): see docs/deploy.md, Alarms"
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


def _query(query_id: str, metric_name: str, dimensions: dict[str, str], stat: str) -> dict:
    return {
        "id": query_id,
        "metric": {
            "namespace": METRICS_NAMESPACE,
            "metric_name": metric_name,
            "dimensions": dimensions,
            "period": HOURLY_SECONDS,
            "stat": stat,
        },
        "return_data": False,
    }


def data_alarms(*, stack: str, max_rejected_ratio: float) -> dict[str, dict]:
    """The alarms on the pipeline's own data metrics, by name suffix (MetricAlarm arguments).

    All read hourly points of a run's metrics and treat missing data as not breaching: a day without a run is
    the missing-run alarm's concern, not theirs.
    """
    job = curation_dimensions(stack)
    early_warning = max_rejected_ratio / 2
    return {
        "quarantine-ratio": {
            "alarm_description": (
                f"A run quarantined more than {early_warning:.2%} of its input lines, half of "
                f"maxRejectedRatio ({max_rejected_ratio:.2%}), above which the job refuses the snapshot: "
                "see docs/deploy.md, Alarms"
            ),
            "namespace": METRICS_NAMESPACE,
            "metric_name": QUARANTINE_RATIO,
            "dimensions": job,
            "statistic": "Maximum",
            "period": HOURLY_SECONDS,
            "evaluation_periods": 1,
            "threshold": early_warning,
            "comparison_operator": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching",
        },
        "no-curated-facilities": {
            "alarm_description": (
                "A run read input lines but curated no facility from them: see docs/deploy.md, Alarms"
            ),
            "metric_queries": [
                _query("input", "InputLines", job, "Sum"),
                _query("curated", "CuratedFacilities", job, "Sum"),
                {
                    "id": "nothingcurated",
                    "expression": "IF(input > 0 AND curated == 0, 1, 0)",
                    "label": "input lines but nothing curated",
                    "return_data": True,
                },
            ],
            "evaluation_periods": 1,
            "threshold": 1,
            "comparison_operator": "GreaterThanOrEqualToThreshold",
            "treat_missing_data": "notBreaching",
        },
        "empty-snapshot": {
            "alarm_description": (
                "A run published a snapshot with no facility at all, so no accreditation can alert: "
                "see docs/deploy.md, Alarms"
            ),
            "namespace": METRICS_NAMESPACE,
            "metric_name": SNAPSHOT_FACILITIES,
            "dimensions": job,
            "statistic": "Minimum",
            "period": HOURLY_SECONDS,
            "evaluation_periods": 1,
            "threshold": 1,
            "comparison_operator": "LessThanThreshold",
            "treat_missing_data": "notBreaching",
        },
        "empty-watch-list": {
            "alarm_description": (
                "The notifier found no expiring and no lapsed accreditation in a run: "
                "see docs/deploy.md, Alarms"
            ),
            "metric_queries": [
                _query("expiring", "ExpiringAccreditations", notifier_dimensions(stack), "Sum"),
                _query("lapsed", "LapsedAccreditations", notifier_dimensions(stack), "Sum"),
                {
                    "id": "watched",
                    "expression": "expiring + lapsed",
                    "label": "expiring and lapsed accreditations",
                    "return_data": True,
                },
            ],
            "evaluation_periods": 1,
            "threshold": 1,
            "comparison_operator": "LessThanThreshold",
            "treat_missing_data": "notBreaching",
        },
    }


def glue_job_failure_pattern(job_name: str) -> dict:
    return {
        "source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": [job_name], "state": list(GLUE_FAILED_JOB_STATES)},
    }


def crawler_failure_pattern(crawler_name: str) -> dict:
    return {
        "source": ["aws.glue"],
        "detail-type": ["Glue Crawler State Change"],
        "detail": {"crawlerName": [crawler_name], "state": ["Failed"]},
    }


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


@dataclass
class MonitoringArgs:
    stack: StackContext
    status_topic_arn: pulumi.Input[str]
    glue_job_name: pulumi.Input[str]
    crawler_name: pulumi.Input[str]
    notifier_function_name: pulumi.Input[str]
    workgroup_name: pulumi.Input[str]
    topic_names: dict[str, pulumi.Input[str]]
    state_machine_arn: pulumi.Input[str]
    max_rejected_ratio: float = DEFAULT_CURATION_POLICY.max_rejected_ratio
    missing_run_alarm_hours: int = 26


class Monitoring(pulumi.ComponentResource):
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._failure_events(name, args)
        self._service_alarms(name, args)
        self._data_alarms(name, args)
        dashboard = self._dashboard(name, args)
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})

    def _failure_events(self, name: str, args: MonitoringArgs) -> None:
        """Glue job and crawler failures, forwarded by EventBridge rules to the status topic."""
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.stack.resource_prefix
        failure_events = {
            "glue-job-failed": (
                pulumi.Output.from_input(args.glue_job_name).apply(glue_job_failure_pattern),
                "Glue job <job> run <run> ended <state>: <message>",
                {
                    "job": "$.detail.jobName",
                    "run": "$.detail.jobRunId",
                    "state": "$.detail.state",
                    "message": "$.detail.message",
                },
            ),
            "crawler-failed": (
                pulumi.Output.from_input(args.crawler_name).apply(crawler_failure_pattern),
                "Glue crawler <crawler> failed: <message>",
                {"crawler": "$.detail.crawlerName", "message": "$.detail.errorMessage"},
            ),
        }
        for event, (pattern, template, paths) in failure_events.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}",
                name=f"{prefix}-{event}",
                description=f"{prefix}: {event.replace('-', ' ')} -> status topic",
                event_pattern=pulumi.Output.json_dumps(pattern),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{event}-to-status",
                rule=rule.name,
                arn=args.status_topic_arn,
                input_transformer={"input_paths": paths, "input_template": json.dumps(template)},
                opts=child,
            )

    def _service_alarms(self, name: str, args: MonitoringArgs) -> None:
        """Any notifier error or throttle, any failed, timed-out or aborted execution."""
        alarms = [
            (
                f"notifier-{metric.lower()}",
                "AWS/Lambda",
                metric,
                {"FunctionName": args.notifier_function_name},
            )
            for metric in LAMBDA_FAILURE_METRICS
        ]
        alarms += [
            (
                f"executions-{metric.removeprefix('Executions').lower()}",
                "AWS/States",
                metric,
                {"StateMachineArn": args.state_machine_arn},
            )
            for metric in STATE_MACHINE_FAILURE_METRICS
        ]
        for alarm, namespace, metric, dimensions in alarms:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{alarm}",
                name=f"{args.stack.resource_prefix}-{alarm}",
                alarm_description=f"{namespace} {metric} >= 1 in {ALARM_PERIOD_SECONDS} s",
                namespace=namespace,
                metric_name=metric,
                dimensions=dimensions,
                statistic="Sum",
                period=ALARM_PERIOD_SECONDS,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[args.status_topic_arn],
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _data_alarms(self, name: str, args: MonitoringArgs) -> None:
        """The alarms on the run's own data metrics and the missing-run alarm."""
        prefix = args.stack.resource_prefix
        # Data alarms say nothing when they return to OK: the next hour simply has no data point.
        specs = {
            alarm: (spec, [])
            for alarm, spec in data_alarms(stack=prefix, max_rejected_ratio=args.max_rejected_ratio).items()
        }
        # OK here means an execution succeeded again: worth a message.
        missing_run = missing_run_alarm(
            state_machine_arn=args.state_machine_arn, hours=args.missing_run_alarm_hours
        )
        specs["no-successful-run"] = (missing_run, [args.status_topic_arn])
        for alarm, (spec, ok_actions) in specs.items():
            aws.cloudwatch.MetricAlarm(
                f"{name}-{alarm}",
                name=f"{prefix}-{alarm}",
                alarm_actions=[args.status_topic_arn],
                ok_actions=ok_actions,
                opts=pulumi.ResourceOptions(parent=self),
                **spec,
            )

    def _dashboard(self, name: str, args: MonitoringArgs) -> aws.cloudwatch.Dashboard:
        stack = args.stack
        body = pulumi.Output.all(
            glue_job_name=args.glue_job_name,
            crawler_name=args.crawler_name,
            function_name=args.notifier_function_name,
            workgroup_name=args.workgroup_name,
            state_machine_arn=args.state_machine_arn,
            topic_names=args.topic_names,
        ).apply(lambda values: dashboard_body(**values, region=stack.region, stack=stack.resource_prefix))
        return aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{stack.resource_prefix}-pipeline",
            dashboard_body=pulumi.Output.json_dumps(body),
            opts=pulumi.ResourceOptions(parent=self),
        )
