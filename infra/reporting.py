"""Reporting: the run report Lambda, which writes report.html beside each run's published results."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import NotifierSettings
from infra.notifications import RUNTIME, notifier_code
from infra.roles import service_role
from infra.stack import StackContext, ZoneRef
from pipeline.layout import LATEST_PREFIX
from pipeline.settings import AlertPolicy

TYPE_TOKEN = "healthcare:index:Reporting"
# The report package ships in the notifier's zip (lambda/ as it is, plus the vendored packages).
HANDLER = "accreditation_report.handler.lambda_handler"
POWERTOOLS_SERVICE_NAME = "accreditation-run-report"
REPORT_FILES = ("report.html", "report_data.json")
# Where the Glue job writes its curation reports in the curated bucket.
CURATION_REPORTS_PREFIX = "_reports/"


def report_environment(alert_policy: AlertPolicy, log_level: str) -> dict[str, str]:
    """The report's configuration: the same tiers and window as the notifier and the queries."""
    return {
        "CRITICAL_MAX_DAYS": str(alert_policy.critical_max_days),
        "HIGH_MAX_DAYS": str(alert_policy.high_max_days),
        "MEDIUM_MAX_DAYS": str(alert_policy.medium_max_days),
        "EXPIRING_WINDOW_MONTHS": str(alert_policy.expiring_window_months),
        "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_LOG_LEVEL": log_level,
    }


@dataclass
class ReportingArgs:
    stack: StackContext
    production: ZoneRef
    curated: ZoneRef
    alert_policy: AlertPolicy
    # Sized like the notifier: both stream a run's results once.
    function: NotifierSettings


class Reporting(pulumi.ComponentResource):
    report_function_name: pulumi.Output[str]
    report_function_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ReportingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stack = args.stack
        function_name = f"{stack.resource_prefix}-run-report"
        # Created before the function, so Lambda never creates it without retention or encryption.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-run-report-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=stack.log_retention_days,
            kms_key_id=stack.kms_key_arn,
            opts=child,
        )
        document = pulumi.Output.all(
            production_bucket_arn=args.production.arn,
            curated_bucket_arn=args.curated.arn,
            log_group_arn=log_group.arn,
            kms_key_arn=stack.kms_key_arn,
        ).apply(
            lambda values: policies.run_report_policy(
                **values,
                report_files=REPORT_FILES,
                latest_prefix=LATEST_PREFIX,
                reports_prefix=CURATION_REPORTS_PREFIX,
            )
        )
        role = service_role(
            f"{name}-run-report",
            role_name=f"{stack.resource_prefix}-run-report",
            service="lambda.amazonaws.com",
            policy_json=pulumi.Output.json_dumps(document),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-run-report",
            name=function_name,
            description="The run report (report.html) beside each run's published results",
            runtime=RUNTIME,
            architectures=["arm64"],
            handler=HANDLER,
            role=role.role.arn,
            code=notifier_code(),
            memory_size=args.function.memory_mb,
            timeout=args.function.timeout_seconds,
            tracing_config={"mode": "Active"},
            kms_key_arn=stack.kms_key_arn,
            environment={"variables": report_environment(args.alert_policy, args.function.log_level)},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            # IAM is eventually consistent: the role must carry its policy before Lambda assumes it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role.policy, log_group]),
        )
        self.report_function_name = function.name
        self.report_function_arn = function.arn
        self.register_outputs(
            {
                "report_function_name": self.report_function_name,
                "report_function_arn": self.report_function_arn,
            }
        )
