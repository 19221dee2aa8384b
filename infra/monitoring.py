"""Monitoring: failure events and alarms to the status topic, and the pipeline's CloudWatch dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

TYPE_TOKEN = "healthcare:index:Monitoring"
ALARM_PERIOD_SECONDS = 300
GLUE_FAILED_JOB_STATES = ("FAILED", "TIMEOUT", "ERROR", "STOPPED")
# Failures of the state machine, which always ends FAILED after its own failure notification.
STATE_MACHINE_FAILURE_METRICS = ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")
LAMBDA_FAILURE_METRICS = ("Errors", "Throttles")


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


def dashboard_body(
    *,
    region: str,
    glue_job_name: str,
    crawler_name: str,
    function_name: str,
    workgroup_name: str,
    topic_names: dict[str, str],
    state_machine_arn: str | None = None,
) -> dict:
    """The dashboard as a plain dict: one graph per concern, newest runs on the right."""

    def graph(title: str, metrics: list, stat: str = "Sum", period: int = ALARM_PERIOD_SECONDS) -> dict:
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

    widgets = []
    if state_machine_arn:
        widgets.append(
            graph(
                "Pipeline executions",
                [
                    ["AWS/States", metric, "StateMachineArn", state_machine_arn]
                    for metric in ("ExecutionsStarted", "ExecutionsSucceeded", *STATE_MACHINE_FAILURE_METRICS)
                ],
            )
        )
    widgets += [
        graph(
            "Glue curation job tasks",
            [
                [
                    "Glue",
                    f"glue.driver.aggregate.{metric}",
                    "JobName",
                    glue_job_name,
                    "JobRunId",
                    "ALL",
                    "Type",
                    "count",
                ]
                for metric in ("numCompletedTasks", "numFailedTasks", "numKilledTasks")
            ],
        ),
        graph(
            "Glue curation job elapsed time (ms)",
            [
                [
                    "Glue",
                    "glue.driver.aggregate.elapsedTime",
                    "JobName",
                    glue_job_name,
                    "JobRunId",
                    "ALL",
                    "Type",
                    "count",
                ]
            ],
            stat="Maximum",
        ),
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


@dataclass
class MonitoringArgs:
    resource_prefix: str
    region: str
    status_topic_arn: pulumi.Input[str]
    glue_job_name: pulumi.Input[str]
    crawler_name: pulumi.Input[str]
    notifier_function_name: pulumi.Input[str]
    workgroup_name: pulumi.Input[str]
    topic_names: dict[str, pulumi.Input[str]]
    # The orchestration seam: alarms on failed executions exist once a state machine is passed in.
    state_machine_arn: pulumi.Input[str] | None = None


class Monitoring(pulumi.ComponentResource):
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

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
                name=f"{args.resource_prefix}-{event}",
                description=f"{args.resource_prefix}: {event.replace('-', ' ')} -> status topic",
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

        alarms = [
            (
                f"notifier-{metric.lower()}",
                "AWS/Lambda",
                metric,
                {"FunctionName": args.notifier_function_name},
            )
            for metric in LAMBDA_FAILURE_METRICS
        ]
        if args.state_machine_arn is not None:
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
                name=f"{args.resource_prefix}-{alarm}",
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
                opts=child,
            )

        topic_keys = list(args.topic_names)
        body = pulumi.Output.all(
            args.glue_job_name,
            args.crawler_name,
            args.notifier_function_name,
            args.workgroup_name,
            args.state_machine_arn,
            *(args.topic_names[key] for key in topic_keys),
        ).apply(
            lambda values: dashboard_body(
                region=args.region,
                glue_job_name=values[0],
                crawler_name=values[1],
                function_name=values[2],
                workgroup_name=values[3],
                state_machine_arn=values[4],
                topic_names=dict(zip(topic_keys, values[5:], strict=True)),
            )
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{args.resource_prefix}-pipeline",
            dashboard_body=pulumi.Output.json_dumps(body),
            opts=child,
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})
