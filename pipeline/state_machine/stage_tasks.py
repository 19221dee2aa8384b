"""The states of each stage but the crawler's: the Glue job, the queries, the Lambdas, the copies, success."""

from __future__ import annotations

from pipeline.layout import LATEST_PREFIX, production_prefix
from pipeline.stages import (
    EXPIRING_ACCREDITATIONS,
    FACILITIES_BY_STATE,
    LAPSED_ACCREDITATIONS,
    NOTIFY_ALERTS,
    PUBLISHED_FILES,
    RUN_REPORT,
    Stage,
)
from pipeline.state_machine.draft import LAMBDA_INVOKE, SNS_PUBLISH, Draft, task_state
from pipeline.state_machine.locations import copy_source, notifier_output, production_location, query_result
from pipeline.state_machine.names import (
    CURATION,
    CURATION_SUMMARY,
    CURATION_SUMMARY_KEY_FORMAT,
    READ_CURATION_SUMMARY,
    stage_result_path,
)
from pipeline.state_machine.retries import (
    ATHENA_TRANSIENT,
    GLUE_CONCURRENT_RUN,
    GLUE_TRANSIENT,
    LAMBDA_TRANSIENT,
    S3_TRANSIENT,
    SNS_TRANSIENT,
    notifier_claim_busy,
)
from pipeline.state_machine.targets import StateMachineTargets


def add_curate(draft: Draft, stage: Stage, next_name: str | None, top_level: bool) -> None:
    draft.task(
        stage.title,
        "arn:aws:states:::glue:startJobRun.sync",
        {
            "JobName": draft.targets.glue_job_name,
            "Arguments": {"--as_of.$": "$.as_of", "--run_id.$": "$.run_id"},
        },
        next_name=READ_CURATION_SUMMARY,
        timeout=draft.settings.glue_timeout_seconds,
        retry=[GLUE_CONCURRENT_RUN, GLUE_TRANSIENT],
        result_selector={"job_run_id.$": "$.Id", "job_run_state.$": "$.JobRunState"},
        result_path=stage_result_path(stage),
        top_level=top_level,
    )
    draft.task(
        READ_CURATION_SUMMARY,
        "arn:aws:states:::aws-sdk:s3:getObject",
        {
            "Bucket": draft.targets.curated_bucket,
            "Key.$": f"States.Format('{CURATION_SUMMARY_KEY_FORMAT}', $.as_of)",
        },
        next_name=next_name,
        timeout=draft.settings.sdk_timeout_seconds,
        retry=[S3_TRANSIENT],
        result_selector={"summary.$": "States.StringToJson($.Body)"},
        result_path=CURATION,
        top_level=top_level,
    )


def add_athena_query(draft: Draft, stage: Stage, next_name: str | None, top_level: bool) -> None:
    # Only the query id is taken from the response: the result's location follows from it and the
    # workgroup's enforced output location, and row counts come from the notifier, which reads the
    # results (Athena's runtime statistics are filled asynchronously and may be missing at first).
    draft.task(
        stage.title,
        "arn:aws:states:::athena:startQueryExecution.sync",
        {
            "QueryString": draft.sql_loader(stage.sql_file),
            "QueryExecutionContext": {"Database": draft.targets.database},
            "WorkGroup": draft.targets.workgroup,
            "ExecutionParameters.$": _execution_parameters(draft, stage),
        },
        next_name=next_name,
        timeout=draft.settings.athena_timeout_seconds,
        retry=[ATHENA_TRANSIENT],
        result_selector={"query_execution_id.$": "$.QueryExecution.QueryExecutionId"},
        result_path="$.query",
        output_path="$.query",
        top_level=top_level,
    )


def _execution_parameters(draft: Draft, stage: Stage) -> str:
    values = {
        # The job writes the as-of's snapshot under snapshot_date = as_of.
        "snapshot_date": "$.as_of_sql_literal",
        "expiring_window_months": f"'{int(draft.settings.expiring_window_months)}'",
    }
    unknown = [name for name in stage.parameters if name not in values]
    if unknown:
        raise ValueError(f"stage {stage.name} has parameters the state machine cannot bind: {unknown}")
    return "States.Array(" + ", ".join(values[name] for name in stage.parameters) + ")"


def add_notify(draft: Draft, stage: Stage, next_name: str | None, top_level: bool) -> None:
    _add_lambda_task(
        draft,
        stage,
        draft.targets.notifier_function_arn,
        _notifier_event(draft.targets, stage),
        next_name=next_name,
        top_level=top_level,
        retry=[LAMBDA_TRANSIENT, notifier_claim_busy(draft.settings.notifier_timeout_seconds)],
        result_path="$.notifier",
        output_path="$.notifier.summary",
    )


def _notifier_event(targets: StateMachineTargets, stage: Stage) -> dict:
    return {
        "expiring_results.$": query_result(targets, EXPIRING_ACCREDITATIONS, scheme="s3://"),
        "lapsed_results.$": query_result(targets, LAPSED_ACCREDITATIONS, scheme="s3://"),
        "alerts_output.$": notifier_output(targets, stage.result_file, scheme="s3://"),
        "production_location.$": production_location(targets),
    }


def _add_lambda_task(
    draft: Draft, stage: Stage, function_arn: str, payload: dict, *, top_level: bool, **options
) -> None:
    """Invoke a function of the run (as_of and run_id in its event) and keep its answer as `summary`."""
    draft.task(
        stage.title,
        LAMBDA_INVOKE,
        {"FunctionName": function_arn, "Payload": {"as_of.$": "$.as_of", "run_id.$": "$.run_id", **payload}},
        timeout=draft.settings.notifier_timeout_seconds,
        result_selector={"summary.$": "$.Payload"},
        top_level=top_level,
        **options,
    )


def add_publish(draft: Draft, stage: Stage, next_name: str | None, top_level: bool) -> None:
    branches = []
    for result_stage, file_name in PUBLISHED_FILES:
        dated, latest = f"Copy {file_name} to as_of", f"Copy {file_name} to latest"
        source = copy_source(draft.targets, result_stage, file_name)
        dated_key = {"Key.$": f"States.Format('{production_prefix('{}')}{file_name}', $.as_of)"}
        latest_key = {"Key": f"{LATEST_PREFIX}{file_name}"}
        branch_states = {
            dated: _copy_to_production(draft, source, dated_key, next_name=latest),
            latest: _copy_to_production(draft, source, latest_key, next_name=None),
        }
        branches.append({"StartAt": dated, "States": branch_states})
    draft.add(
        stage.title,
        {
            "Type": "Parallel",
            "Comment": "Each result goes to as_of=<date>/ first, then to latest/, so latest is never ahead.",
            "Branches": branches,
            "ResultPath": None,
            "Next": next_name,
        },
        top_level=top_level,
    )


def _copy_to_production(draft: Draft, source: str, key: dict, *, next_name: str | None) -> dict:
    return task_state(
        "arn:aws:states:::aws-sdk:s3:copyObject",
        {"Bucket": draft.targets.production_bucket, "CopySource.$": source, **key},
        timeout=draft.settings.sdk_timeout_seconds,
        retry=[S3_TRANSIENT],
        result_path=None,
        next_name=next_name,
    )


def add_run_report(draft: Draft, stage: Stage, next_name: str | None, top_level: bool) -> None:
    event = {
        "production_location.$": production_location(draft.targets),
        "latest_location": f"s3://{draft.targets.production_bucket}/{LATEST_PREFIX}",
        "curation_report.$": f"{CURATION_SUMMARY}.report_location",
        "previous_as_of.$": f"{stage_result_path(NOTIFY_ALERTS)}.previous_as_of",
    }
    _add_lambda_task(
        draft,
        stage,
        draft.targets.report_function_arn,
        event,
        next_name=next_name,
        top_level=top_level,
        retry=[LAMBDA_TRANSIENT],
        result_path=stage_result_path(stage),
    )


def add_success_notification(draft: Draft, stage: Stage, next_name: str | None, top_level: bool) -> None:
    summary = stage_result_path(NOTIFY_ALERTS)
    production = draft.targets.production_bucket
    message = (
        "Accreditation pipeline run {} for as-of {} succeeded.\n\n"
        "Facilities in the snapshot: {}\n"
        "Expiring accreditations (next {} months): {}\n"
        "Alerts: critical {}, high {}, medium {}\n"
        "Since the previous run: {} new, {} escalated, {} newly lapsed, {} resolved\n"
        "Lapsed accreditations: {}\n"
        "Quarantined input lines: {}\n\n"
        "Run report: {}\n"
        f"Results: s3://{production}/{production_prefix('{}')} (same files in s3://{production}/{LATEST_PREFIX})"
        f"\nFacilities per state: s3://{production}/{production_prefix('{}')}{FACILITIES_BY_STATE.result_file}"
    )
    arguments = [
        "$.run_id",
        "$.as_of",
        f"{CURATION_SUMMARY}.facilities",
        f"'{int(draft.settings.expiring_window_months)}'",
        f"{summary}.expiring",
        *(f"{summary}.alerts.{tier}" for tier in ("critical", "high", "medium")),
        *(f"{summary}.change_totals.{name}" for name in ("new", "escalated", "newly_lapsed", "resolved")),
        f"{summary}.lapsed",
        f"{CURATION_SUMMARY}.quarantined",
        f"{stage_result_path(RUN_REPORT)}.summary.report",
        "$.as_of",
        "$.as_of",
    ]
    draft.task(
        stage.title,
        SNS_PUBLISH,
        {
            "TopicArn": draft.targets.status_topic_arn,
            "Subject.$": "States.Format('Accreditation pipeline succeeded for {}', $.as_of)",
            "Message.$": f"States.Format('{message}', {', '.join(arguments)})",
            "MessageAttributes": {"outcome": {"DataType": "String", "StringValue": "succeeded"}},
        },
        next_name=next_name,
        timeout=draft.settings.sdk_timeout_seconds,
        retry=[SNS_TRANSIENT],
        result_path=None,
        top_level=top_level,
    )
