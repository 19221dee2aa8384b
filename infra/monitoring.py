"""Monitoring: failure events and alarms to the status topic, and the pipeline's CloudWatch dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.alarms import data_alarms, missing_run_alarm, service_alarms
from infra.config import DEFAULT_MISSING_RUN_ALARM_HOURS
from infra.dashboard import dashboard_body
from infra.outputs import when_known
from infra.stack import StackContext
from pipeline.settings import DEFAULT_CURATION_POLICY

TYPE_TOKEN = "healthcare:index:Monitoring"
GLUE_FAILED_JOB_STATES = ("FAILED", "TIMEOUT", "ERROR", "STOPPED")


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
    missing_run_alarm_hours: int = DEFAULT_MISSING_RUN_ALARM_HOURS


class Monitoring(pulumi.ComponentResource):
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._failure_events(name, args)
        self._alarms(name, args)
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

    def _alarms(self, name: str, args: MonitoringArgs) -> None:
        """The failure, data and missing-run alarms, each paging the status topic."""
        failures = service_alarms(
            notifier_function_name=args.notifier_function_name, state_machine_arn=args.state_machine_arn
        )
        for alarm, spec in failures.items():
            self._alarm(name, args, alarm, spec)
        data = data_alarms(stack=args.stack.resource_prefix, max_rejected_ratio=args.max_rejected_ratio)
        for alarm, spec in data.items():
            # Data alarms say nothing when they return to OK: the next hour simply has no data point.
            self._alarm(name, args, alarm, spec, ok_actions=[])
        missing_run = missing_run_alarm(
            state_machine_arn=args.state_machine_arn, hours=args.missing_run_alarm_hours
        )
        # OK here means an execution succeeded again: worth a message.
        self._alarm(name, args, "no-successful-run", missing_run, ok_actions=[args.status_topic_arn])

    def _alarm(
        self,
        name: str,
        args: MonitoringArgs,
        alarm: str,
        spec: dict,
        ok_actions: list[pulumi.Input[str]] | None = None,
    ) -> None:
        aws.cloudwatch.MetricAlarm(
            f"{name}-{alarm}",
            name=f"{args.stack.resource_prefix}-{alarm}",
            alarm_actions=[args.status_topic_arn],
            ok_actions=ok_actions,
            opts=pulumi.ResourceOptions(parent=self),
            **spec,
        )

    def _dashboard(self, name: str, args: MonitoringArgs) -> aws.cloudwatch.Dashboard:
        stack = args.stack
        body = when_known(
            dashboard_body,
            region=stack.region,
            glue_job_name=args.glue_job_name,
            crawler_name=args.crawler_name,
            function_name=args.notifier_function_name,
            workgroup_name=args.workgroup_name,
            topic_names=args.topic_names,
            stack=stack.resource_prefix,
            state_machine_arn=args.state_machine_arn,
        )
        return aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{stack.resource_prefix}-pipeline",
            dashboard_body=pulumi.Output.json_dumps(body),
            opts=pulumi.ResourceOptions(parent=self),
        )
