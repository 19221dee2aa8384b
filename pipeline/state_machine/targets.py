"""What the definition is built from: the names and ARNs it calls, and its tunable timing."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.settings import DEFAULT_ALERT_POLICY
from pipeline.sizing import DEFAULT_SIZING, glue_task_timeout_seconds, lambda_task_timeout_seconds

PLACEHOLDER_REGION = "us-east-1"
PLACEHOLDER_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class StateMachineTargets:
    """Physical names and ARNs the definition calls (plain strings; Pulumi resolves them before building)."""

    glue_job_name: str
    crawler_name: str
    database: str
    workgroup: str
    curated_bucket: str
    athena_results_bucket: str
    # Key prefix (may be "") of the workgroup's enforced OutputLocation; query output is <prefix><id>.csv.
    athena_results_prefix: str
    production_bucket: str
    notifier_function_arn: str
    report_function_arn: str
    status_topic_arn: str


@dataclass(frozen=True)
class StateMachineSettings:
    """Tunable timing of the definition (stack config feeds these; the defaults are a default stack's)."""

    expiring_window_months: int = DEFAULT_ALERT_POLICY.expiring_window_months
    # 0 disables the upload guard: every object-created event then runs the whole pipeline.
    arrival_batch_window_seconds: int = DEFAULT_SIZING.arrival_batch_window_seconds
    glue_timeout_seconds: int = glue_task_timeout_seconds(DEFAULT_SIZING.glue_timeout_minutes)
    athena_timeout_seconds: int = 30 * 60
    # The notifier's and the run report's tasks: both functions get the notifier's sizing.
    notifier_timeout_seconds: int = lambda_task_timeout_seconds(DEFAULT_SIZING.notifier_timeout_seconds)
    sdk_timeout_seconds: int = 5 * 60
    crawler_poll_seconds: int = 30
    crawler_max_polls: int = 60


DEFAULT_SETTINGS = StateMachineSettings()


def _placeholder_arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{PLACEHOLDER_REGION}:{PLACEHOLDER_ACCOUNT}:{resource}"


PLACEHOLDER_TARGETS = StateMachineTargets(
    glue_job_name="<glue-job>",
    crawler_name="<crawler>",
    database="<database>",
    workgroup="<workgroup>",
    notifier_function_arn=_placeholder_arn("lambda", "function:<notifier>"),
    report_function_arn=_placeholder_arn("lambda", "function:<run-report>"),
    status_topic_arn=_placeholder_arn("sns", "<status-topic>"),
    curated_bucket="<curated-bucket>",
    athena_results_bucket="<athena-results-bucket>",
    athena_results_prefix="queries/",
    production_bucket="<production-bucket>",
)
