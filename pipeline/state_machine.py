"""The pipeline's Step Functions definition: a plain dict built from names and ARNs, per pipeline.stages."""

# Flow (one state, or one Parallel state, per wave of `PIPELINE_WAVES`):
#
#     upload guard (event-started executions only) -> run context (as_of, run_id) -> curate (Glue .sync)
#     -> read the curation summary -> crawler when it asks for one (start, then a bounded poll loop)
#     -> stage 1 / stage 2 / lapsed (Athena .sync, in parallel) -> notifier Lambda / stage 4 (in parallel)
#     -> copy every result to production `as_of=X/` and `latest/` -> the run report (report.html beside them)
#     -> success message on the status topic, naming the report.
#
# Every Task and Parallel state at the top level catches States.ALL into `$.error`, records its own name and
# goes to one failure notification, then to a Fail state, so the execution ends FAILED and alarms fire.
#
# Burst handling (50 files uploaded within a minute must neither start 50 full pipelines nor fail any
# execution): the EventBridge rule starts one execution per object-created event, with the event as input.
# An execution whose input is such an event (it carries `source`) first waits
# `arrival_batch_window_seconds`, then asks Step Functions for the newest RUNNING execution of this machine
# (ListExecutions sorts newest first). When that is not itself, a later execution exists that started
# after this one's file arrived and will curate that file too, so this one ends in the Succeed state
# `Superseded by a newer execution` without touching Glue. Only the newest execution of a burst runs the
# pipeline. A burst spread out longer than the window may let a second one through; it then waits on
# Glue.ConcurrentRunsExceededException (retried with backoff) and runs incrementally after the first.
# Scheduled and manual executions (input `{}` or `{"as_of": ...}`) skip the guard and always run.

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.layout import LATEST_PREFIX, production_prefix
from pipeline.settings import DEFAULT_ALERT_POLICY
from pipeline.sizing import DEFAULT_SIZING, glue_task_timeout_seconds, lambda_task_timeout_seconds
from pipeline.sql_files import load_sql
from pipeline.stages import (
    EXPIRING_ACCREDITATIONS,
    FACILITIES_BY_STATE,
    LAPSED_ACCREDITATIONS,
    NOTIFY_ALERTS,
    PIPELINE_WAVES,
    PUBLISHED_FILES,
    RUN_REPORT,
    Stage,
    StageKind,
)

UPLOAD_GUARD = "Triggered by an upload?"
WAIT_FOR_MORE_UPLOADS = "Wait for more uploads"
FIND_NEWEST_EXECUTION = "Find the newest running execution"
NEWEST_EXECUTION_CHOICE = "Is this the newest execution?"
SUPERSEDED = "Superseded by a newer execution"
AS_OF_CHOICE = "As-of given?"
USE_GIVEN_AS_OF = "Use the given as-of"
USE_EXECUTION_DATE = "Use the execution date"
RUN_CONTEXT = "Run context"
READ_CURATION_SUMMARY = "Read the curation summary"
START_CRAWLER = "Start the crawler"
WAIT_FOR_CRAWLER = "Wait for the crawler"
GET_CRAWLER = "Get the crawler state"
CRAWLER_DONE_CHOICE = "Crawler finished?"
COUNT_CRAWLER_POLL = "Count the crawler poll"
CRAWLER_FAILED = "Crawler did not succeed"
CRAWLER_TIMED_OUT = "Crawler timed out"
NOTIFY_FAILURE = "Notify failure"
PIPELINE_FAILED = "Pipeline failed"
PIPELINE_SUCCEEDED = "Pipeline succeeded"

# Folder (in the athena-results bucket) where the notifier writes its CSVs; run_id keeps reruns apart.
NOTIFIER_OUTPUT_PREFIX_FORMAT = "notifier/{}/"
NOTIFIER_OUTPUT_KEY_FORMAT = NOTIFIER_OUTPUT_PREFIX_FORMAT + NOTIFY_ALERTS.result_file
# The job's bounded summary of its run (counts, flags, where the full report is): the full report lists
# every new raw file and could exceed the 256 KiB state payload quota, which no Catch handles.
CURATION_SUMMARY_KEY_FORMAT = "_reports/snapshot_date={}/curation_summary.json"

# Transient errors of each integration (names as Step Functions reports them); nothing else is retried,
# so a failed Glue run, a failed query or a Lambda bug fails fast into the failure notification.
GLUE_TRANSIENT_ERRORS = (
    "Glue.ThrottlingException",
    "Glue.InternalServiceException",
    "Glue.OperationTimeoutException",
)
GLUE_CONCURRENT_RUN_ERRORS = ("Glue.ConcurrentRunsExceededException",)
ATHENA_TRANSIENT_ERRORS = ("Athena.TooManyRequestsException", "Athena.InternalServerException")
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
S3_TRANSIENT_ERRORS = (
    "S3.SlowDownException",
    "S3.InternalErrorException",
    "S3.ServiceUnavailableException",
    "S3.SdkClientException",
)
SNS_TRANSIENT_ERRORS = (
    "SNS.ThrottledException",
    "SNS.InternalErrorException",
    "SNS.KMSThrottlingException",
    "SNS.SdkClientException",
)
SFN_TRANSIENT_ERRORS = ("Sfn.ThrottlingException", "Sfn.SdkClientException")
# Raised by the notifier while another invocation holds a digest's idempotency claim: that one either
# publishes (and this retry then skips the digest) or its claim lapses and this retry takes it over.
NOTIFIER_CLAIM_BUSY_ERRORS = ("DigestInProgressError",)
CRAWLER_RUNNING_ERROR = "Glue.CrawlerRunningException"

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


PLACEHOLDER_TARGETS = StateMachineTargets(
    glue_job_name="<glue-job>",
    crawler_name="<crawler>",
    database="<database>",
    workgroup="<workgroup>",
    curated_bucket="<curated-bucket>",
    athena_results_bucket="<athena-results-bucket>",
    athena_results_prefix="queries/",
    production_bucket="<production-bucket>",
    notifier_function_arn=f"arn:aws:lambda:{PLACEHOLDER_REGION}:{PLACEHOLDER_ACCOUNT}:function:<notifier>",
    report_function_arn=f"arn:aws:lambda:{PLACEHOLDER_REGION}:{PLACEHOLDER_ACCOUNT}:function:<run-report>",
    status_topic_arn=f"arn:aws:sns:{PLACEHOLDER_REGION}:{PLACEHOLDER_ACCOUNT}:<status-topic>",
)


def stage_result_path(stage: Stage) -> str:
    """Where the output of a stage lives in the state data once its wave has run."""
    wave_index, wave = _wave_of(stage)
    if len(wave) == 1:
        return f"$.{stage.name}"
    return f"$.wave_{wave_index}.{stage.name}"


def wave_state_name(wave: tuple[Stage, ...]) -> str:
    """Name of the state that runs one wave: the stage title, or the stage names of a Parallel state."""
    if len(wave) == 1:
        return wave[0].title
    return " + ".join(stage.name for stage in wave)


def build_state_machine(
    targets: StateMachineTargets,
    settings: StateMachineSettings = StateMachineSettings(),
    sql_loader: Callable[[str], str] = load_sql,
) -> dict:
    """The state machine definition (Amazon States Language, JSONPath) as a plain dict."""
    builder = _Builder(targets, settings, sql_loader)
    return builder.build()


def render_state_machine() -> str:
    """The definition with placeholder names and ARNs, as deterministic, reviewable JSON."""
    return json.dumps(build_state_machine(PLACEHOLDER_TARGETS), indent=2)


def _wave_of(stage: Stage) -> tuple[int, tuple[Stage, ...]]:
    for index, wave in enumerate(PIPELINE_WAVES, start=1):
        if stage in wave:
            return index, wave
    raise ValueError(f"stage {stage.name} is not in PIPELINE_WAVES")


def _retry(
    errors: tuple[str, ...], *, interval: int, attempts: int, max_delay: int, rate: float = 2.0
) -> dict:
    return {
        "ErrorEquals": list(errors),
        "IntervalSeconds": interval,
        "MaxAttempts": attempts,
        "BackoffRate": rate,
        "MaxDelaySeconds": max_delay,
        "JitterStrategy": "FULL",
    }


def _failure_state_name(state_name: str) -> str:
    return f"Failed: {state_name}"


class _Builder:
    def __init__(
        self,
        targets: StateMachineTargets,
        settings: StateMachineSettings,
        sql_loader: Callable[[str], str],
    ) -> None:
        self.targets = targets
        self.settings = settings
        self.sql_loader = sql_loader
        self.states: dict[str, dict] = {}
        self.catching_states: list[str] = []

    def build(self) -> dict:
        start = self._add_run_context()
        wave_names = [wave_state_name(wave) for wave in PIPELINE_WAVES]
        for index, wave in enumerate(PIPELINE_WAVES):
            next_name = wave_names[index + 1] if index + 1 < len(wave_names) else PIPELINE_SUCCEEDED
            if len(wave) == 1:
                self._add_stage(wave[0], next_name, top_level=True)
            else:
                self._add_parallel_wave(index + 1, wave, next_name)
        self.states[PIPELINE_SUCCEEDED] = {"Type": "Succeed"}
        self._add_failure_path()
        for name in self.states:
            # Names are quoted inside intrinsic string literals (failure summaries): no ' { } or backslash.
            if len(name) > 80 or any(char in name for char in "'{}\\"):
                raise ValueError(f"state name too long or not quotable in an intrinsic: {name!r}")
        return {
            "Comment": "Accreditation monitoring pipeline: curate, catalog, query, notify, publish.",
            "StartAt": start,
            "States": self.states,
        }

    # -- run context -------------------------------------------------------------------------------

    def _add_run_context(self) -> str:
        run_id = "$$.Execution.Name"
        first_stage = wave_state_name(PIPELINE_WAVES[0])
        self.states[AS_OF_CHOICE] = {
            "Type": "Choice",
            "Choices": [{"Variable": "$.as_of", "IsPresent": True, "Next": USE_GIVEN_AS_OF}],
            "Default": USE_EXECUTION_DATE,
        }
        self.states[USE_GIVEN_AS_OF] = {
            "Type": "Pass",
            "Parameters": {"as_of.$": "$.as_of", "run_id.$": run_id},
            "Next": RUN_CONTEXT,
        }
        self.states[USE_EXECUTION_DATE] = {
            "Type": "Pass",
            "Comment": "The UTC date of the execution start: the same default as the Glue job's 'today'.",
            "Parameters": {
                "as_of.$": "States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, 'T'), 0)",
                "run_id.$": run_id,
            },
            "Next": RUN_CONTEXT,
        }
        # Athena takes ExecutionParameters as SQL literals, so the date goes in single quotes. The quote
        # comes in as a value rather than as an escaped quote inside an intrinsic's string literal, which
        # not every ASL implementation (moto's among them) parses.
        self.states[RUN_CONTEXT] = {
            "Type": "Pass",
            "Parameters": {
                "as_of.$": "$.as_of",
                "run_id.$": "$.run_id",
                "as_of_sql_literal.$": "States.Format('{}{}{}', $.quote, $.as_of, $.quote)",
            },
            "Next": first_stage,
        }
        for name in (USE_GIVEN_AS_OF, USE_EXECUTION_DATE):
            self.states[name]["Parameters"]["quote"] = "'"
        if self.settings.arrival_batch_window_seconds <= 0:
            return AS_OF_CHOICE
        self.states[UPLOAD_GUARD] = {
            "Type": "Choice",
            "Comment": "Only object-created events carry 'source'; manual and scheduled input runs at once.",
            "Choices": [{"Variable": "$.source", "IsPresent": True, "Next": WAIT_FOR_MORE_UPLOADS}],
            "Default": AS_OF_CHOICE,
        }
        self.states[WAIT_FOR_MORE_UPLOADS] = {
            "Type": "Wait",
            "Seconds": self.settings.arrival_batch_window_seconds,
            "Next": FIND_NEWEST_EXECUTION,
        }
        self._task(
            FIND_NEWEST_EXECUTION,
            "arn:aws:states:::aws-sdk:sfn:listExecutions",
            {"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING", "MaxResults": 1},
            next_name=NEWEST_EXECUTION_CHOICE,
            timeout=self.settings.sdk_timeout_seconds,
            retry=[_retry(SFN_TRANSIENT_ERRORS, interval=2, attempts=6, max_delay=60)],
            result_selector={
                "newest_execution.$": "$.Executions[0]",
                "this_execution_arn.$": "$$.Execution.Id",
            },
            result_path="$.upload_guard",
            top_level=True,
        )
        self.states[NEWEST_EXECUTION_CHOICE] = {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.upload_guard.newest_execution.ExecutionArn",
                    "StringEqualsPath": "$.upload_guard.this_execution_arn",
                    "Next": AS_OF_CHOICE,
                }
            ],
            "Default": SUPERSEDED,
        }
        self.states[SUPERSEDED] = {
            "Type": "Succeed",
            "Comment": "A newer execution started after this upload; it curates this file too.",
        }
        return UPLOAD_GUARD

    # -- stages ------------------------------------------------------------------------------------

    def _add_stage(self, stage: Stage, next_name: str | None, *, top_level: bool) -> dict[str, dict]:
        """Add the states of one stage (entry state named after stage.title); returns them."""
        before = set(self.states)
        builders = {
            StageKind.CURATE: self._curate,
            StageKind.CATALOG: self._catalog,
            StageKind.ATHENA_QUERY: self._athena_query,
            StageKind.NOTIFY: self._notify,
            StageKind.PUBLISH: self._publish,
            StageKind.RUN_REPORT: self._run_report,
            StageKind.REPORT: self._report,
        }
        builders[stage.kind](stage, next_name, top_level)
        return {name: state for name, state in self.states.items() if name not in before}

    def _add_parallel_wave(self, index: int, wave: tuple[Stage, ...], next_name: str) -> None:
        branches = []
        for stage in wave:
            branch_states = self._add_stage(stage, None, top_level=False)
            for name in branch_states:
                del self.states[name]
            branches.append({"StartAt": stage.title, "States": branch_states})
        name = wave_state_name(wave)
        self.states[name] = {
            "Type": "Parallel",
            "Comment": f"Wave {index}: independent stages run side by side.",
            "Branches": branches,
            "ResultSelector": {f"{stage.name}.$": f"$[{position}]" for position, stage in enumerate(wave)},
            "ResultPath": f"$.wave_{index}",
            "Next": next_name,
        }
        self._catch(name)

    def _curate(self, stage: Stage, next_name: str | None, top_level: bool) -> None:
        self._task(
            stage.title,
            "arn:aws:states:::glue:startJobRun.sync",
            {
                "JobName": self.targets.glue_job_name,
                "Arguments": {"--as_of.$": "$.as_of", "--run_id.$": "$.run_id"},
            },
            next_name=READ_CURATION_SUMMARY,
            timeout=self.settings.glue_timeout_seconds,
            retry=[
                # Another run of the job (an earlier execution, a console rerun) holds the only slot:
                # wait for it rather than fail; it may take as long as a whole run.
                _retry(GLUE_CONCURRENT_RUN_ERRORS, interval=60, attempts=10, max_delay=900),
                _retry(GLUE_TRANSIENT_ERRORS, interval=5, attempts=5, max_delay=120),
            ],
            result_selector={"job_run_id.$": "$.Id", "job_run_state.$": "$.JobRunState"},
            result_path=stage_result_path(stage),
            top_level=top_level,
        )
        self._task(
            READ_CURATION_SUMMARY,
            "arn:aws:states:::aws-sdk:s3:getObject",
            {
                "Bucket": self.targets.curated_bucket,
                "Key.$": f"States.Format('{CURATION_SUMMARY_KEY_FORMAT}', $.as_of)",
            },
            next_name=next_name,
            timeout=self.settings.sdk_timeout_seconds,
            retry=[_retry(S3_TRANSIENT_ERRORS, interval=2, attempts=6, max_delay=60)],
            result_selector={"summary.$": "States.StringToJson($.Body)"},
            result_path="$.curation",
            top_level=top_level,
        )

    def _catalog(self, stage: Stage, next_name: str | None, top_level: bool) -> None:
        report_flag = "$.curation.summary.crawler_required"
        self.states[stage.title] = {
            "Type": "Choice",
            "Comment": "The job registers its partition itself; a crawl is needed only on the first run or "
            "a schema change. A summary without the flag crawls, the safe side.",
            "Choices": [
                {
                    "And": [
                        {"Variable": report_flag, "IsPresent": True},
                        {"Variable": report_flag, "BooleanEquals": False},
                    ],
                    "Next": next_name,
                }
            ],
            "Default": START_CRAWLER,
        }
        self._task(
            START_CRAWLER,
            "arn:aws:states:::aws-sdk:glue:startCrawler",
            {"Name": self.targets.crawler_name},
            next_name=WAIT_FOR_CRAWLER,
            timeout=self.settings.sdk_timeout_seconds,
            retry=[
                # A crawl already running (the schedule-less crawler started by hand, or an overlapping
                # execution) is waited for: starting ours after it ends makes sure the new snapshot is seen.
                _retry((CRAWLER_RUNNING_ERROR,), interval=30, attempts=20, max_delay=300, rate=1.5),
                _retry(GLUE_TRANSIENT_ERRORS, interval=5, attempts=5, max_delay=120),
            ],
            result_selector={"polls": 0},
            result_path="$.crawl",
            top_level=top_level,
        )
        self.states[WAIT_FOR_CRAWLER] = {
            "Type": "Wait",
            "Seconds": self.settings.crawler_poll_seconds,
            "Next": GET_CRAWLER,
        }
        self._task(
            GET_CRAWLER,
            "arn:aws:states:::aws-sdk:glue:getCrawler",
            {"Name": self.targets.crawler_name},
            next_name=CRAWLER_DONE_CHOICE,
            timeout=self.settings.sdk_timeout_seconds,
            retry=[_retry(GLUE_TRANSIENT_ERRORS, interval=5, attempts=5, max_delay=120)],
            result_selector={"crawler.$": "$.Crawler"},
            result_path="$.crawl.status",
            top_level=top_level,
        )
        state = "$.crawl.status.crawler.State"
        last_status = "$.crawl.status.crawler.LastCrawl.Status"
        self.states[CRAWLER_DONE_CHOICE] = {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": state, "StringEquals": "READY"},
                        {"Variable": last_status, "IsPresent": True},
                        {"Variable": last_status, "StringEquals": "SUCCEEDED"},
                    ],
                    "Next": next_name,
                },
                {"Variable": state, "StringEquals": "READY", "Next": CRAWLER_FAILED},
                {
                    "Variable": "$.crawl.polls",
                    "NumericGreaterThanEquals": self.settings.crawler_max_polls,
                    "Next": CRAWLER_TIMED_OUT,
                },
            ],
            "Default": COUNT_CRAWLER_POLL,
        }
        self.states[COUNT_CRAWLER_POLL] = {
            "Type": "Pass",
            "Parameters": {"polls.$": "States.MathAdd($.crawl.polls, 1)"},
            "ResultPath": "$.crawl",
            "Next": WAIT_FOR_CRAWLER,
        }
        self.states[CRAWLER_FAILED] = {
            "Type": "Pass",
            "Parameters": {
                "Error": "Crawler.Failed",
                "Cause.$": "States.JsonToString($.crawl.status.crawler)",
            },
            "ResultPath": "$.error",
            "Next": _failure_state_name(GET_CRAWLER),
        }
        self.states[CRAWLER_TIMED_OUT] = {
            "Type": "Pass",
            "Parameters": {
                "Error": "Crawler.Timeout",
                "Cause.$": "States.Format('The crawler was still {} after {} polls.', "
                "$.crawl.status.crawler.State, $.crawl.polls)",
            },
            "ResultPath": "$.error",
            "Next": _failure_state_name(GET_CRAWLER),
        }

    def _athena_query(self, stage: Stage, next_name: str | None, top_level: bool) -> None:
        # Only the query id is taken from the response: the result's location follows from it and the
        # workgroup's enforced output location, and row counts come from the notifier, which reads the
        # results (Athena's runtime statistics are filled asynchronously and may be missing at first).
        self._task(
            stage.title,
            "arn:aws:states:::athena:startQueryExecution.sync",
            {
                "QueryString": self.sql_loader(stage.sql_file),
                "QueryExecutionContext": {"Database": self.targets.database},
                "WorkGroup": self.targets.workgroup,
                "ExecutionParameters.$": self._execution_parameters(stage),
            },
            next_name=next_name,
            timeout=self.settings.athena_timeout_seconds,
            retry=[_retry(ATHENA_TRANSIENT_ERRORS, interval=5, attempts=6, max_delay=120)],
            result_selector={"query_execution_id.$": "$.QueryExecution.QueryExecutionId"},
            result_path="$.query",
            output_path="$.query",
            top_level=top_level,
        )

    def _execution_parameters(self, stage: Stage) -> str:
        values = {
            # The job writes the as-of's snapshot under snapshot_date = as_of.
            "snapshot_date": "$.as_of_sql_literal",
            "expiring_window_months": f"'{int(self.settings.expiring_window_months)}'",
        }
        unknown = [name for name in stage.parameters if name not in values]
        if unknown:
            raise ValueError(f"stage {stage.name} has parameters the state machine cannot bind: {unknown}")
        return "States.Array(" + ", ".join(values[name] for name in stage.parameters) + ")"

    def _notify(self, stage: Stage, next_name: str | None, top_level: bool) -> None:
        bucket = self.targets.athena_results_bucket
        self._task(
            stage.title,
            "arn:aws:states:::lambda:invoke",
            {
                "FunctionName": self.targets.notifier_function_arn,
                "Payload": {
                    "as_of.$": "$.as_of",
                    "run_id.$": "$.run_id",
                    "expiring_results.$": self._query_result(EXPIRING_ACCREDITATIONS, scheme="s3://"),
                    "lapsed_results.$": self._query_result(LAPSED_ACCREDITATIONS, scheme="s3://"),
                    "alerts_output.$": f"States.Format('s3://{bucket}/{NOTIFIER_OUTPUT_KEY_FORMAT}', "
                    "$.run_id)",
                    "production_location.$": f"States.Format('s3://{self.targets.production_bucket}/"
                    f"{production_prefix('{}')}', $.as_of)",
                },
            },
            next_name=next_name,
            timeout=self.settings.notifier_timeout_seconds,
            retry=[
                _retry(LAMBDA_TRANSIENT_ERRORS, interval=2, attempts=6, max_delay=60),
                _retry(NOTIFIER_CLAIM_BUSY_ERRORS, interval=30, attempts=5, max_delay=300),
            ],
            result_selector={"summary.$": "$.Payload"},
            result_path="$.notifier",
            output_path="$.notifier.summary",
            top_level=top_level,
        )

    def _publish(self, stage: Stage, next_name: str | None, top_level: bool) -> None:
        branches = []
        for result_stage, file_name in PUBLISHED_FILES:
            dated = f"Copy {file_name} to as_of"
            latest = f"Copy {file_name} to latest"
            branch_states: dict[str, dict] = {}
            copy_source = self._copy_source(result_stage, file_name)
            for name, key, following in (
                (dated, f"States.Format('{production_prefix('{}')}{file_name}', $.as_of)", latest),
                (latest, None, None),
            ):
                parameters = {"Bucket": self.targets.production_bucket, "CopySource.$": copy_source}
                if key is None:
                    parameters["Key"] = f"{LATEST_PREFIX}{file_name}"
                else:
                    parameters["Key.$"] = key
                state = {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:s3:copyObject",
                    "Parameters": parameters,
                    "TimeoutSeconds": self.settings.sdk_timeout_seconds,
                    "Retry": [_retry(S3_TRANSIENT_ERRORS, interval=2, attempts=6, max_delay=60)],
                    "ResultPath": None,
                }
                if following:
                    state["Next"] = following
                else:
                    state["End"] = True
                branch_states[name] = state
            branches.append({"StartAt": dated, "States": branch_states})
        self.states[stage.title] = {
            "Type": "Parallel",
            "Comment": "Each result goes to as_of=<date>/ first, then to latest/, so latest is never ahead.",
            "Branches": branches,
            "ResultPath": None,
            "Next": next_name,
        }
        if top_level:
            self._catch(stage.title)

    def _copy_source(self, stage: Stage, file_name: str) -> str:
        """`bucket/key` of one of a stage's files in the athena-results bucket, as an intrinsic."""
        bucket = self.targets.athena_results_bucket
        if stage is NOTIFY_ALERTS:
            return f"States.Format('{bucket}/{NOTIFIER_OUTPUT_PREFIX_FORMAT}{file_name}', $.run_id)"
        return self._query_result(stage, scheme="")

    def _query_result(self, stage: Stage, *, scheme: str) -> str:
        """Where Athena wrote a query stage's CSV, as an intrinsic: `<output location><query id>.csv`.

        The workgroup enforces its output location, and Athena names a query's result file after the
        query ("Working with query results": QueryID.csv under the query result location).
        """
        if stage.kind is not StageKind.ATHENA_QUERY:
            raise ValueError(f"no known location for the result of stage {stage.name}")
        query_id = f"{stage_result_path(stage)}.query_execution_id"
        location = f"{scheme}{self.targets.athena_results_bucket}/{self.targets.athena_results_prefix}"
        return f"States.Format('{location}{{}}.csv', {query_id})"

    def _run_report(self, stage: Stage, next_name: str | None, top_level: bool) -> None:
        production = self.targets.production_bucket
        self._task(
            stage.title,
            "arn:aws:states:::lambda:invoke",
            {
                "FunctionName": self.targets.report_function_arn,
                "Payload": {
                    "as_of.$": "$.as_of",
                    "run_id.$": "$.run_id",
                    "production_location.$": f"States.Format('s3://{production}/{production_prefix('{}')}', "
                    "$.as_of)",
                    "latest_location": f"s3://{production}/{LATEST_PREFIX}",
                    "curation_report.$": "$.curation.summary.report_location",
                    "previous_as_of.$": f"{stage_result_path(NOTIFY_ALERTS)}.previous_as_of",
                },
            },
            next_name=next_name,
            timeout=self.settings.notifier_timeout_seconds,
            retry=[_retry(LAMBDA_TRANSIENT_ERRORS, interval=2, attempts=6, max_delay=60)],
            result_selector={"summary.$": "$.Payload"},
            result_path=stage_result_path(stage),
            top_level=top_level,
        )

    def _report(self, stage: Stage, next_name: str | None, top_level: bool) -> None:
        summary = stage_result_path(NOTIFY_ALERTS)
        production = self.targets.production_bucket
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
            "$.curation.summary.facilities",
            f"'{int(self.settings.expiring_window_months)}'",
            f"{summary}.expiring",
            f"{summary}.alerts.critical",
            f"{summary}.alerts.high",
            f"{summary}.alerts.medium",
            *(f"{summary}.change_totals.{name}" for name in ("new", "escalated", "newly_lapsed", "resolved")),
            f"{summary}.lapsed",
            "$.curation.summary.quarantined",
            f"{stage_result_path(RUN_REPORT)}.summary.report",
            "$.as_of",
            "$.as_of",
        ]
        self._task(
            stage.title,
            "arn:aws:states:::sns:publish",
            {
                "TopicArn": self.targets.status_topic_arn,
                "Subject.$": "States.Format('Accreditation pipeline succeeded for {}', $.as_of)",
                "Message.$": f"States.Format('{message}', {', '.join(arguments)})",
                "MessageAttributes": {"outcome": {"DataType": "String", "StringValue": "succeeded"}},
            },
            next_name=next_name,
            timeout=self.settings.sdk_timeout_seconds,
            retry=[_retry(SNS_TRANSIENT_ERRORS, interval=2, attempts=6, max_delay=60)],
            result_path=None,
            top_level=top_level,
        )

    # -- failure -----------------------------------------------------------------------------------

    def _catch(self, state_name: str) -> None:
        self.states[state_name]["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": _failure_state_name(state_name)}
        ]
        self.catching_states.append(state_name)

    def _add_failure_path(self) -> None:
        for state_name in self.catching_states:
            self.states[_failure_state_name(state_name)] = {
                "Type": "Pass",
                "Parameters": {
                    "state": state_name,
                    "error.$": "$.error.Error",
                    "cause.$": "$.error.Cause",
                    "summary.$": f"States.Format('{state_name} failed with {{}}: {{}}', "
                    "$.error.Error, $.error.Cause)",
                },
                "ResultPath": "$.failure",
                "Next": NOTIFY_FAILURE,
            }
        message = (
            "Accreditation pipeline execution {} failed in state: {}\n\n"
            "Error: {}\nCause: {}\n\n"
            "Fix the cause, then start a new execution with the same input (rerunning an as-of is safe)."
        )
        self.states[NOTIFY_FAILURE] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": self.targets.status_topic_arn,
                "Subject.$": "States.Format('Pipeline failed: {}', $.failure.state)",
                "Message.$": f"States.Format('{message}', $$.Execution.Id, $.failure.state, "
                "$.failure.error, $.failure.cause)",
                "MessageAttributes": {"outcome": {"DataType": "String", "StringValue": "failed"}},
            },
            "TimeoutSeconds": self.settings.sdk_timeout_seconds,
            "Retry": [_retry(SNS_TRANSIENT_ERRORS, interval=2, attempts=6, max_delay=60)],
            # The execution must end FAILED even when the message cannot be sent.
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.notification_error", "Next": PIPELINE_FAILED}
            ],
            "ResultPath": None,
            "Next": PIPELINE_FAILED,
        }
        # A fixed error name: a Fail state may not re-raise reserved names such as States.TaskFailed.
        self.states[PIPELINE_FAILED] = {
            "Type": "Fail",
            "Error": "PipelineFailed",
            "CausePath": "$.failure.summary",
        }

    # -- helpers -----------------------------------------------------------------------------------

    def _task(
        self,
        name: str,
        resource: str,
        parameters: dict,
        *,
        next_name: str | None,
        timeout: int,
        retry: list[dict],
        result_path: str | None,
        top_level: bool,
        result_selector: dict | None = None,
        output_path: str | None = None,
    ) -> None:
        state: dict = {"Type": "Task", "Resource": resource, "Parameters": parameters}
        state["TimeoutSeconds"] = timeout
        if retry:
            state["Retry"] = retry
        if result_selector is not None:
            state["ResultSelector"] = result_selector
        state["ResultPath"] = result_path
        if output_path is not None:
            state["OutputPath"] = output_path
        if next_name is None:
            state["End"] = True
        else:
            state["Next"] = next_name
        self.states[name] = state
        if top_level:
            self._catch(name)
