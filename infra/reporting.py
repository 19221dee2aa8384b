"""Reporting: the run report Lambda, which writes report.html beside each run's published results."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra import policies
from infra.config import NotifierSettings
from infra.functions import python_function
from infra.notifications import notifier_code
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
        stack = args.stack
        function = python_function(
            f"{name}-run-report",
            function_name=f"{stack.resource_prefix}-run-report",
            description="The run report (report.html) beside each run's published results",
            handler=HANDLER,
            code=notifier_code(),
            policy=lambda log_group_arn: pulumi.Output.all(
                production_bucket_arn=args.production.arn,
                curated_bucket_arn=args.curated.arn,
                log_group_arn=log_group_arn,
                kms_key_arn=stack.kms_key_arn,
            ).apply(
                lambda values: policies.run_report_policy(
                    **values,
                    report_files=REPORT_FILES,
                    latest_prefix=LATEST_PREFIX,
                    reports_prefix=CURATION_REPORTS_PREFIX,
                )
            ),
            sizing=args.function,
            environment=report_environment(args.alert_policy, args.function.log_level),
            stack=stack,
            parent=self,
        )
        self.report_function_name = function.name
        self.report_function_arn = function.arn
        self.register_outputs(
            {
                "report_function_name": self.report_function_name,
                "report_function_arn": self.report_function_arn,
            }
        )
