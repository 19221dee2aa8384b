"""The Pulumi program: reads the stack settings once and composes the pipeline's components."""

import pulumi
import pulumi_aws as aws

from infra.catalog import Catalog, CatalogArgs
from infra.config import load_settings
from infra.etl import Etl, EtlArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.notifications import Notifications, NotificationsArgs
from infra.orchestration import Orchestration, OrchestrationArgs
from infra.reporting import Reporting, ReportingArgs
from infra.stack import StackContext
from infra.storage import ARTIFACTS, Storage, StorageArgs
from pipeline import layout

settings = load_settings()
prefix = settings.resource_prefix
account_id = aws.get_caller_identity_output().account_id
partition = aws.get_partition_output().partition

storage = Storage(
    prefix,
    StorageArgs(
        resource_prefix=prefix,
        account_id=account_id,
        region=settings.region,
        partition=partition,
        retention=settings.retention,
        force_destroy=settings.force_destroy_data,
    ),
)

stack = StackContext(
    resource_prefix=prefix,
    account_id=account_id,
    region=settings.region,
    partition=partition,
    kms_key_arn=storage.kms_key_arn,
    log_retention_days=settings.retention.log_days,
)
zones = storage.zones

catalog = Catalog(
    prefix,
    CatalogArgs(
        stack=stack,
        database_name=settings.glue_database_name,
        workgroup_name=settings.athena_workgroup_name,
        curated=zones[layout.CURATED],
        athena_results=zones[layout.ATHENA_RESULTS],
        athena_bytes_scanned_cutoff=settings.athena_bytes_scanned_cutoff,
        manage_catalog_encryption=settings.manage_catalog_encryption,
        force_destroy=settings.force_destroy_data,
    ),
)

etl = Etl(
    prefix,
    EtlArgs(
        stack=stack,
        raw=zones[layout.RAW],
        curated=zones[layout.CURATED],
        quarantine=zones[layout.QUARANTINE],
        artifacts=zones[ARTIFACTS],
        database_name=catalog.database_name,
        security_configuration_name=catalog.security_configuration_name,
        max_rejected_ratio=settings.curation_policy.max_rejected_ratio,
        glue=settings.glue,
    ),
)

notifications = Notifications(
    prefix,
    NotificationsArgs(
        stack=stack,
        athena_results=zones[layout.ATHENA_RESULTS],
        production=zones[layout.PRODUCTION],
        subscriptions=settings.subscriptions,
        state_digest_states=settings.state_digest_states,
        alert_policy=settings.alert_policy,
        notifier=settings.notifier,
    ),
)

reporting = Reporting(
    prefix,
    ReportingArgs(
        stack=stack,
        production=zones[layout.PRODUCTION],
        curated=zones[layout.CURATED],
        alert_policy=settings.alert_policy,
        function=settings.notifier,
    ),
)

orchestration = Orchestration(
    prefix,
    OrchestrationArgs(
        stack=stack,
        raw=zones[layout.RAW],
        curated=zones[layout.CURATED],
        athena_results=zones[layout.ATHENA_RESULTS],
        production=zones[layout.PRODUCTION],
        glue_job_name=etl.job_name,
        crawler_name=catalog.crawler_name,
        database_name=catalog.database_name,
        workgroup_name=catalog.workgroup_name,
        notifier_function_arn=notifications.notifier_function_arn,
        report_function_arn=reporting.report_function_arn,
        status_topic_arn=notifications.status_topic_arn,
        schedule_expression=settings.schedule_expression,
        schedule_timezone=settings.schedule_timezone,
        arrival_batch_window_seconds=settings.arrival_batch_window_seconds,
        glue_timeout_minutes=settings.glue.timeout_minutes,
        notifier_timeout_seconds=settings.notifier.timeout_seconds,
        expiring_window_months=settings.alert_policy.expiring_window_months,
        catalog_kms_key_arn=storage.kms_key_arn if settings.manage_catalog_encryption else None,
    ),
)

monitoring = Monitoring(
    prefix,
    MonitoringArgs(
        stack=stack,
        status_topic_arn=notifications.status_topic_arn,
        glue_job_name=etl.job_name,
        crawler_name=catalog.crawler_name,
        notifier_function_name=notifications.notifier_function_name,
        workgroup_name=catalog.workgroup_name,
        topic_names=notifications.topic_names,
        state_machine_arn=orchestration.state_machine_arn,
        max_rejected_ratio=settings.curation_policy.max_rejected_ratio,
        missing_run_alarm_hours=settings.missing_run_alarm_hours,
    ),
)
stack_outputs: dict[str, pulumi.Input] = {
    **{f"{zone.replace('-', '_')}_bucket": ref.name for zone, ref in zones.items()},
    "glue_job_name": etl.job_name,
    "glue_script_location": etl.script_location,
    "crawler_name": catalog.crawler_name,
    "glue_database": catalog.database_name,
    "athena_workgroup": catalog.workgroup_name,
    **{f"{topic}_topic_arn": arn for topic, arn in notifications.topic_arns.items()},
    "notifier_function_name": notifications.notifier_function_name,
    "report_function_name": reporting.report_function_name,
    "idempotency_table_name": notifications.idempotency_table_name,
    "kms_key_arn": storage.kms_key_arn,
    "state_machine_arn": orchestration.state_machine_arn,
    "start_execution_command": orchestration.start_command,
    "dashboard_name": monitoring.dashboard_name,
}
for output_name, value in stack_outputs.items():
    pulumi.export(output_name, value)
