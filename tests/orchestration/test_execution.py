"""The definition executed by moto's Step Functions interpreter: success, a failure from each stage, bursts.

What moto cannot show, and how it is covered instead (see conftest.py for the adapters):
- Athena's optimised `.sync` integration does not exist in moto: a test adapter does what Step Functions
  documents (StartQueryExecution, then GetQueryExecution until done) and writes the result CSV Athena would.
  A query that FAILS in Athena (States.TaskFailed) is therefore not exercised; a refused query (unknown
  workgroup, Athena.InvalidRequestException) is.
- moto 5.2.5's `.sync` loop for Glue dereferences a missing callback endpoint; the adapter runs the same
  resolver without it. A Glue run ending FAILED cannot be produced by moto; a refused start is exercised.
- moto runs no Lambda code without Docker: a double records the event and returns a summary of the real shape.
- aws-sdk results are converted to what Step Functions returns (PascalCase keys, string bodies and dates).
- Retries with backoff and task timeouts are not exercised (real waits); their presence on every task is
  asserted on the definition in test_definition.py.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import boto3
import pytest

from pipeline.stages import PIPELINE_STAGES, PIPELINE_WAVES, PUBLISHED_FILES
from pipeline.state_machine import (
    GET_CRAWLER,
    READ_CURATION_SUMMARY,
    START_CRAWLER,
    SUPERSEDED,
    build_state_machine,
    wave_state_name,
)
from tests.orchestration.conftest import FAST_SETTINGS, REGION, TARGETS

AS_OF = "2026-12-01"
SUMMARY = {
    "crawler_required": False,
    "facilities": 31,
    "quarantined": 7,
    "curated": 40,
    "report_location": "s3://hc-test-curated/_reports/snapshot_date=2026-12-01/curation_report.json",
}
QUERY_WAVE, NOTIFY_WAVE = wave_state_name(PIPELINE_WAVES[2]), wave_state_name(PIPELINE_WAVES[3])
CURATE, PUBLISH, RUN_REPORT, REPORT_SUCCESS = (
    PIPELINE_STAGES[0].title,
    wave_state_name(PIPELINE_WAVES[4]),
    PIPELINE_WAVES[5][0].title,
    PIPELINE_WAVES[6][0].title,
)


@pytest.fixture
def definition() -> dict:
    return build_state_machine(TARGETS, FAST_SETTINGS)


def _s3_text(bucket: str, key: str) -> str:
    return boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_empty_input_runs_every_stage_for_the_execution_date(world, definition):
    as_of = datetime.now(UTC).date().isoformat()
    world.put_curation_summary(as_of, SUMMARY)

    execution = world.run(definition, {}, name="scheduled-run")

    assert execution.status == "SUCCEEDED", execution.cause
    entered = execution.entered_states()
    # Branches of a Parallel state start in any order; waves must follow each other as defined.
    wave_of = {stage.title: index for index, wave in enumerate(PIPELINE_WAVES) for stage in wave}
    visited = [name for name in entered if name in wave_of]
    assert sorted(visited) == sorted(wave_of)
    assert [wave_of[name] for name in visited] == sorted(wave_of[name] for name in visited)
    assert START_CRAWLER not in entered  # the report said no crawl
    assert world.production_keys() == sorted(
        f"{prefix}{name}"
        for name in (*(name for _, name in PUBLISHED_FILES), "report.html")
        for prefix in (f"as_of={as_of}/", "latest/")
    )
    (event,) = world.notifier.events
    assert event["as_of"] == as_of and event["run_id"] == "scheduled-run"
    assert event["alerts_output"] == (
        f"s3://{TARGETS.athena_results_bucket}/notifier/scheduled-run/accreditation_alerts.csv"
    )
    assert event["production_location"] == f"s3://{TARGETS.production_bucket}/as_of={as_of}/"
    assert event["expiring_results"].startswith(f"s3://{TARGETS.athena_results_bucket}/queries/")
    (message,) = world.status_messages()
    assert message["MessageAttributes"]["outcome"]["Value"] == "succeeded"
    assert f"as-of {as_of} succeeded" in message["Message"]
    assert "Facilities in the snapshot: 31" in message["Message"]
    assert "Alerts: critical 2, high 1, medium 3" in message["Message"]
    assert "Quarantined input lines: 7" in message["Message"]
    assert "Since the previous run: 1 new, 2 escalated, 0 newly lapsed, 5 resolved" in message["Message"]
    assert f"Run report: s3://{TARGETS.production_bucket}/as_of={as_of}/report.html" in message["Message"]
    assert f"s3://{TARGETS.production_bucket}/as_of={as_of}/" in message["Message"]
    (report_event,) = world.report.events
    assert report_event == {
        "as_of": as_of,
        "run_id": "scheduled-run",
        "production_location": f"s3://{TARGETS.production_bucket}/as_of={as_of}/",
        "latest_location": f"s3://{TARGETS.production_bucket}/latest/",
        "curation_report": SUMMARY["report_location"],
        "previous_as_of": "2026-11-30",
    }


def test_given_as_of_reaches_the_job_and_every_query_as_sql_literals(world, definition):
    world.put_curation_summary(AS_OF, SUMMARY)

    execution = world.run(definition, {"as_of": AS_OF})

    assert execution.status == "SUCCEEDED", execution.cause
    glue_arguments = {
        json.dumps(json.loads(e["taskScheduledEventDetails"]["parameters"]).get("Arguments"))
        for e in execution.events
        if e.get("taskScheduledEventDetails", {}).get("resourceType") == "glue"
    }
    assert glue_arguments == {json.dumps({"--as_of": AS_OF, "--run_id": "run-1"})}
    # The adapter writes each query's ExecutionParameters into its result CSV; the copies carry them.
    received = {
        stage.name: next(
            csv.reader(
                io.StringIO(_s3_text(TARGETS.production_bucket, f"latest/{stage.result_file}")).readlines()[
                    1:
                ]
            )
        )
        for stage in PIPELINE_STAGES
        if stage.sql_file
    }
    literal, window = f"'{AS_OF}'", str(FAST_SETTINGS.expiring_window_months)
    expected = {"as_of": literal, "snapshot_date": literal, "expiring_window_months": window}
    for stage in PIPELINE_STAGES:
        if stage.sql_file:
            assert received[stage.name] == [",".join(expected[p] for p in stage.parameters)]


def test_crawler_runs_when_the_report_asks_and_is_polled_until_it_succeeds(world, definition):
    world.put_curation_summary(AS_OF, {**SUMMARY, "crawler_required": True})
    world.crawls_finish(immediately=True)

    execution = world.run(definition, {"as_of": AS_OF})

    assert execution.status == "SUCCEEDED", execution.cause
    assert {START_CRAWLER, GET_CRAWLER} <= set(execution.entered_states())


def test_a_report_without_the_crawler_flag_crawls(world, definition):
    world.put_curation_summary(
        AS_OF, {"facilities": 1, "quarantined": 0, "report_location": SUMMARY["report_location"]}
    )
    world.crawls_finish(immediately=True)

    execution = world.run(definition, {"as_of": AS_OF})

    assert execution.status == "SUCCEEDED", execution.cause
    assert START_CRAWLER in execution.entered_states()


def _assert_failed_in(world, execution, state: str, error: str) -> None:
    assert execution.status == "FAILED"
    assert execution.error == "PipelineFailed"
    assert execution.cause.startswith(f"{state} failed with {error}")
    (message,) = world.status_messages()
    assert message["Subject"] == f"Pipeline failed: {state}"
    assert message["MessageAttributes"]["outcome"]["Value"] == "failed"
    assert f"failed in state: {state}" in message["Message"]
    assert f"Error: {error}" in message["Message"]
    assert world.production_keys() == []


def test_failure_in_the_glue_job(world, definition):
    boto3.client("glue", region_name=REGION).delete_job(JobName=TARGETS.glue_job_name)
    execution = world.run(definition, {})
    _assert_failed_in(world, execution, CURATE, "Glue.EntityNotFoundException")


def test_failure_reading_the_curation_summary(world, definition):
    execution = world.run(definition, {"as_of": AS_OF})
    _assert_failed_in(world, execution, READ_CURATION_SUMMARY, "S3.NoSuchKey")


def test_failure_starting_the_crawler(world, definition):
    world.put_curation_summary(AS_OF, {**SUMMARY, "crawler_required": True})
    boto3.client("glue", region_name=REGION).delete_crawler(Name=TARGETS.crawler_name)
    execution = world.run(definition, {"as_of": AS_OF})
    _assert_failed_in(world, execution, START_CRAWLER, "Glue.EntityNotFoundException")


def test_crawler_that_never_finishes_times_out(world, definition):
    world.put_curation_summary(AS_OF, {**SUMMARY, "crawler_required": True})
    world.crawls_finish(immediately=False)
    execution = world.run(definition, {"as_of": AS_OF})
    _assert_failed_in(world, execution, GET_CRAWLER, "Crawler.Timeout")


def test_failure_in_the_query_wave(world, definition):
    world.put_curation_summary(AS_OF, SUMMARY)
    boto3.client("athena", region_name=REGION).delete_work_group(WorkGroup=TARGETS.workgroup)
    execution = world.run(definition, {"as_of": AS_OF})
    _assert_failed_in(world, execution, QUERY_WAVE, "Athena.InvalidRequestException")
    assert world.notifier.events == []


def test_failure_in_the_notifier_wave(world, definition):
    world.put_curation_summary(AS_OF, SUMMARY)
    name = TARGETS.notifier_function_arn.rsplit(":", 1)[1]
    boto3.client("lambda", region_name=REGION).delete_function(FunctionName=name)
    execution = world.run(definition, {"as_of": AS_OF})
    _assert_failed_in(world, execution, NOTIFY_WAVE, "Lambda.ResourceNotFoundException")


def test_failure_publishing_to_production(world, definition):
    world.put_curation_summary(AS_OF, SUMMARY)
    boto3.client("s3", region_name=REGION).delete_bucket(Bucket=TARGETS.production_bucket)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="unrelated")
    execution = world.run(definition, {"as_of": AS_OF})
    assert execution.status == "FAILED"
    assert execution.cause.startswith(f"{PUBLISH} failed with S3.NoSuchBucket")
    (message,) = world.status_messages()
    assert message["Subject"] == f"Pipeline failed: {PUBLISH}"


def test_failure_in_the_run_report(world, definition):
    world.put_curation_summary(AS_OF, SUMMARY)
    name = TARGETS.report_function_arn.rsplit(":", 1)[1]
    boto3.client("lambda", region_name=REGION).delete_function(FunctionName=name)
    execution = world.run(definition, {"as_of": AS_OF})
    assert execution.status == "FAILED"
    assert execution.cause.startswith(f"{RUN_REPORT} failed with Lambda.ResourceNotFoundException")


def test_failure_of_the_success_notification_still_ends_failed(world, definition):
    world.put_curation_summary(AS_OF, SUMMARY)
    boto3.client("sns", region_name=REGION).delete_topic(TopicArn=TARGETS.status_topic_arn)
    execution = world.run(definition, {"as_of": AS_OF})
    assert execution.status == "FAILED"
    assert execution.cause.startswith(f"{REPORT_SUCCESS} failed with SNS.NotFound")


def _upload_event(key: str) -> dict:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "hc-test-raw"}, "object": {"key": key}},
    }


def test_a_burst_of_uploads_runs_the_pipeline_once(world, definition, upload_waits_held):
    # GIVEN three uploads of one burst, WHEN each starts an execution and all are running when their
    # windows end, THEN only the newest runs the pipeline; the others end SUCCEEDED as superseded,
    # without touching Glue.
    as_of = datetime.now(UTC).date().isoformat()
    world.put_curation_summary(as_of, SUMMARY)
    machine = world.create_state_machine(definition)
    arns = [world.start(machine, _upload_event(f"f{i}.ndjson"), name=f"upload-{i}") for i in range(3)]
    upload_waits_held.set()

    executions = [world.wait(arn) for arn in arns]

    assert [e.status for e in executions] == ["SUCCEEDED"] * 3
    ran = [e for e in executions if CURATE in e.entered_states()]
    superseded = [e for e in executions if SUPERSEDED in e.entered_states()]
    assert [e.arn for e in ran] == [arns[-1]]
    assert sorted(e.arn for e in superseded) == sorted(arns[:-1])
    assert len(world.notifier.events) == 1


def test_manual_and_scheduled_input_skip_the_upload_guard(world, definition):
    world.put_curation_summary(AS_OF, SUMMARY)
    execution = world.run(definition, {"as_of": AS_OF})
    assert "Wait for more uploads" not in execution.entered_states()


def test_athena_answers_without_statistics_or_result_location_succeed(world, definition, athena_answers):
    """GetQueryRuntimeStatistics: row statistics "are updated asynchronously and may not be available
    immediately after a query completes" (Athena API Reference, GetQueryRuntimeStatistics); Statistics and
    ResultConfiguration are optional members of QueryExecution (botocore's athena model lists no required
    member). A JSONPath that finds nothing there is States.Runtime, which no Catch handles: the definition
    reads only the query id, and this run gets answers that carry nothing else."""
    athena_answers(minimal_responses=True)
    world.put_curation_summary(AS_OF, SUMMARY)

    execution = world.run(definition, {"as_of": AS_OF})

    assert execution.status == "SUCCEEDED", execution.cause
    answers = [
        json.loads(e["taskSucceededEventDetails"]["output"])
        for e in execution.events
        if e.get("taskSucceededEventDetails", {}).get("resourceType") == "athena"
    ]
    assert len(answers) == 4
    assert all(set(answer["QueryExecution"]) == {"QueryExecutionId", "Status"} for answer in answers)
    assert len(world.production_keys()) == 2 * (len(PUBLISHED_FILES) + 1)  # and report.html
    (event,) = world.notifier.events
    assert event["expiring_results"].startswith(f"s3://{TARGETS.athena_results_bucket}/queries/")
    assert event["expiring_results"].endswith(".csv")


def test_a_day_with_no_rows_succeeds_and_publishes_header_only_results(world, definition, athena_answers):
    athena_answers(header_only_results=True)
    world.notifier.expiring, world.notifier.lapsed = 0, 0
    world.notifier.alerts = {"critical": 0, "high": 0, "medium": 0}
    world.put_curation_summary(AS_OF, SUMMARY)

    execution = world.run(definition, {"as_of": AS_OF})

    assert execution.status == "SUCCEEDED", execution.cause
    for stage in PIPELINE_STAGES:
        if stage.sql_file:
            assert _s3_text(TARGETS.production_bucket, f"latest/{stage.result_file}") == '"parameters"\n'
    (message,) = world.status_messages()
    assert "Expiring accreditations (next 6 months): 0" in message["Message"]
    assert "Alerts: critical 0, high 0, medium 0" in message["Message"]
    assert "Lapsed accreditations: 0" in message["Message"]
