"""Fixtures that run the state machine on moto's Step Functions interpreter against mocked AWS services."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.moto_api import state_manager
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue import (
    StateTaskServiceGlue,
)
from moto.stepfunctions.parser.asl.component.state.wait.state_wait import StateWait
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from pipeline.state_machine import (
    CURATION_SUMMARY_KEY_FORMAT,
    WAIT_FOR_MORE_UPLOADS,
    StateMachineSettings,
    StateMachineTargets,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
QUERY_RESULTS_PREFIX = "queries/"
TARGETS = StateMachineTargets(
    glue_job_name="hc-test-curate",
    crawler_name="hc-test-curated",
    database="hc_test",
    workgroup="hc-test",
    curated_bucket="hc-test-curated",
    athena_results_bucket="hc-test-athena-results",
    athena_results_prefix=QUERY_RESULTS_PREFIX,
    production_bucket="hc-test-production",
    notifier_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hc-test-notifier",
    report_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hc-test-run-report",
    status_topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:hc-test-status",
)
# Real waits would make every test sleep; one second keeps the loops and the guard observable.
FAST_SETTINGS = StateMachineSettings(
    arrival_batch_window_seconds=1, crawler_poll_seconds=1, crawler_max_polls=3
)


class _SyncWithoutCallback:
    """moto 5.2.5 dereferences a missing callback endpoint on every `.sync` task (Glue included); this runs
    the same sync resolver loop without it, which is what a `.sync` task means."""

    def _eval_integration_pattern(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        resolver = self._build_sync_resolver(
            env=env,
            resource_runtime_part=resource_runtime_part,
            normalised_parameters=normalised_parameters,
            state_credentials=state_credentials,
        )
        while env.is_running():
            result = resolver()
            if result is not None:
                env.stack.append(result)
                return
            time.sleep(0.05)


class GlueSync(_SyncWithoutCallback, StateTaskServiceGlue):
    pass


class AthenaSync(_SyncWithoutCallback, state_task_service_callback.StateTaskServiceCallback):
    """What Step Functions documents for athena:startQueryExecution.sync (moto only forwards the call):
    StartQueryExecution, then GetQueryExecution until the query ends; output = GetQueryExecution's response.
    Athena applies an enforced workgroup's result location and writes the result CSV there; moto does
    neither, so this does both (the CSV holds the ExecutionParameters the query received).

    Two switches make it answer like a real Athena on days moto never shows: `minimal_responses` leaves
    in GetQueryExecution's answer only what every answer has (the id and the status; Statistics and
    ResultConfiguration are optional members, and runtime statistics arrive late), and
    `header_only_results` writes the result CSV of a query that found no rows."""

    minimal_responses = False
    header_only_results = False

    def __init__(self) -> None:
        super().__init__(supported_integration_patterns={ResourceCondition.Sync})

    def _get_supported_parameters(self) -> set[str]:
        return {
            "QueryString",
            "QueryExecutionContext",
            "WorkGroup",
            "ExecutionParameters",
            "ResultConfiguration",
            "ClientRequestToken",
        }

    def _client(self, resource_runtime_part, state_credentials):
        return boto_client_for(
            service="athena", region=resource_runtime_part.region, state_credentials=state_credentials
        )

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        athena = self._client(resource_runtime_part, state_credentials)
        # An enforced workgroup configuration decides where results go; moto ignores it, Athena does not.
        workgroup = athena.get_work_group(WorkGroup=normalised_parameters["WorkGroup"]).get("WorkGroup")
        if workgroup is None:
            error = {"Code": "InvalidRequestException", "Message": "WorkGroup is not found."}
            raise ClientError({"Error": error}, "StartQueryExecution")
        parameters = {
            **normalised_parameters,
            "ResultConfiguration": workgroup["Configuration"]["ResultConfiguration"],
        }
        response = athena.start_query_execution(**parameters)
        response.pop("ResponseMetadata", None)
        env.stack.append(response)

    def _from_error(self, env, ex):
        if not isinstance(ex, ClientError):
            return super()._from_error(env=env, ex=ex)
        error = f"Athena.{ex.response['Error']['Code']}"
        details = TaskFailedEventDetails(
            error=error,
            cause=ex.response["Error"]["Message"],
            resource=self._get_sfn_resource(),
            resourceType=self._get_sfn_resource_type(),
        )
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(taskFailedEventDetails=details),
        )

    def _build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        athena = self._client(resource_runtime_part, state_credentials)
        started = env.stack.pop()

        def resolve() -> dict | None:
            response = athena.get_query_execution(QueryExecutionId=started["QueryExecutionId"])
            response.pop("ResponseMetadata", None)
            execution = response["QueryExecution"]
            if execution["Status"]["State"] in ("QUEUED", "RUNNING"):
                return None
            bucket, key = execution["ResultConfiguration"]["OutputLocation"][len("s3://") :].split("/", 1)
            parameters = ",".join(normalised_parameters.get("ExecutionParameters", []))
            body = '"parameters"\n' if self.header_only_results else f'"parameters"\n"{parameters}"\n'
            boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=key, Body=body.encode())
            if self.minimal_responses:
                minimal = {"QueryExecutionId": execution["QueryExecutionId"], "Status": execution["Status"]}
                return {"QueryExecution": minimal}
            return response

        return resolve


def _pascal_case(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: _pascal_case(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_pascal_case(item) for item in value]
    return value


SDK_ERROR_SERVICE_NAMES = {"s3": "S3", "glue": "Glue", "athena": "Athena", "sfn": "Sfn"}


class AwsSdk(StateTaskServiceAwsSdk):
    """Step Functions returns aws-sdk results as JSON with PascalCase keys, timestamps and S3 object bodies as
    strings; moto passes boto3's response through (camelCase for Step Functions' own API, datetime objects,
    a stream for Body), so this converts."""

    @staticmethod
    def _normalise_service_error_name(service_name: str) -> str:
        # Step Functions names aws-sdk errors <Service>.<Error> with the service in PascalCase.
        return SDK_ERROR_SERVICE_NAMES.get(service_name.lower(), service_name)

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        if self._get_boto_service_name() == "stepfunctions":
            # Step Functions' own API is camelCase in boto3; the state machine passes PascalCase.
            normalised_parameters = {key[:1].lower() + key[1:]: v for key, v in normalised_parameters.items()}
        super()._eval_service_task(env, resource_runtime_part, normalised_parameters, state_credentials)
        response = env.stack.pop()
        if hasattr(response.get("Body"), "read"):
            response["Body"] = response["Body"].read().decode("utf-8")
        # moto ends a crawl as COMPLETED; Glue's LastCrawlInfo.Status is SUCCEEDED | CANCELLED | FAILED.
        last_crawl = response.get("Crawler", {}).get("LastCrawl", {})
        if last_crawl.get("Status") == "COMPLETED":
            last_crawl["Status"] = "SUCCEEDED"
        env.stack.append(_pascal_case(response))


@dataclass
class NotifierDouble:
    """Stands in for the notifier Lambda (moto runs no code without Docker): records each event, writes
    the alerts CSV where the event says, and returns a summary shaped like the real one."""

    events: list[dict] = field(default_factory=list)
    expiring: int = 9
    alerts: dict[str, int] = field(default_factory=lambda: {"critical": 2, "high": 1, "medium": 3})
    lapsed: int = 4

    previous_as_of: str | None = "2026-11-30"
    change_totals: dict[str, int] = field(
        default_factory=lambda: {"new": 1, "escalated": 2, "newly_lapsed": 0, "resolved": 5}
    )

    def invoke(self, body: Any) -> str:
        event = json.loads(body)
        self.events.append(event)
        s3 = boto3.client("s3", region_name=REGION)
        bucket, key = event["alerts_output"][len("s3://") :].split("/", 1)
        s3.put_object(Bucket=bucket, Key=key, Body=b"facility_id\n")
        resolved_key = key.rsplit("/", 1)[0] + "/resolved_accreditations.csv"
        s3.put_object(Bucket=bucket, Key=resolved_key, Body=b"facility_id\n")
        return json.dumps(
            {
                "as_of": event["as_of"],
                "run_id": event["run_id"],
                "expiring": self.expiring,
                "alerts": self.alerts,
                "lapsed": self.lapsed,
                "previous_as_of": self.previous_as_of,
                "change_totals": self.change_totals,
                "messages_published": 3,
                "duplicates_skipped": 0,
                "alerts_output": event["alerts_output"],
                "resolved_output": f"s3://{bucket}/{resolved_key}",
            }
        )


@dataclass
class ReportDouble:
    """Stands in for the run report Lambda: records each event, writes report.html to both folders."""

    events: list[dict] = field(default_factory=list)

    def invoke(self, body: Any) -> str:
        event = json.loads(body)
        self.events.append(event)
        s3 = boto3.client("s3", region_name=REGION)
        for folder in (event["production_location"], event["latest_location"]):
            bucket, prefix = folder[len("s3://") :].split("/", 1)
            s3.put_object(Bucket=bucket, Key=f"{prefix}report.html", Body=b"<html></html>")
        return json.dumps({"as_of": event["as_of"], "report": event["production_location"] + "report.html"})


@dataclass
class Execution:
    arn: str
    status: str
    error: str | None
    cause: str | None
    output: dict | None
    events: list[dict]

    def entered_states(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.events if "stateEnteredEventDetails" in e]

    def failed_tasks(self) -> list[dict]:
        return [e["taskFailedEventDetails"] for e in self.events if "taskFailedEventDetails" in e]


@dataclass
class World:
    """Mocked AWS account holding every resource the definition calls, plus a queue on the status topic."""

    notifier: NotifierDouble
    report: ReportDouble
    status_queue_url: str
    role_arn: str

    def create_state_machine(self, definition: dict, name: str = "hc-test-pipeline") -> str:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=self.role_arn)[
            "stateMachineArn"
        ]

    def start(self, machine_arn: str, execution_input: dict, name: str) -> str:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        return sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(execution_input))[
            "executionArn"
        ]

    # A generous deadline: on a loaded 2-core machine moto's engine thread can lag far behind.
    def wait(self, execution_arn: str, timeout_seconds: float = 300) -> Execution:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        deadline = time.monotonic() + timeout_seconds
        while True:
            description = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        output = description.get("output")
        return Execution(
            arn=execution_arn,
            status=description["status"],
            error=description.get("error"),
            cause=description.get("cause"),
            output=json.loads(output) if output else None,
            events=events,
        )

    def run(self, definition: dict, execution_input: dict, name: str = "run-1") -> Execution:
        return self.wait(self.start(self.create_state_machine(definition), execution_input, name))

    def status_messages(self) -> list[dict]:
        sqs = boto3.client("sqs", region_name=REGION)
        messages = []
        while batch := sqs.receive_message(QueueUrl=self.status_queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                messages.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.status_queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    @staticmethod
    def crawls_finish(immediately: bool) -> None:
        """A crawl ends on the first look at it, or never (moto's manual progression)."""
        progression = "immediate" if immediately else "manual"
        state_manager.set_transition("glue::crawl", {"progression": progression, "times": 10**6})

    @staticmethod
    def put_curation_summary(as_of: str, summary: dict) -> None:
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=TARGETS.curated_bucket,
            Key=CURATION_SUMMARY_KEY_FORMAT.format(as_of),
            Body=json.dumps(summary).encode(),
        )

    @staticmethod
    def production_keys() -> list[str]:
        listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=TARGETS.production_bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))


def _notifier_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def _create_resources(account_role: str) -> str:
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (TARGETS.curated_bucket, TARGETS.athena_results_bucket, TARGETS.production_bucket):
        s3.create_bucket(Bucket=bucket)
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": TARGETS.database})
    glue.create_job(
        Name=TARGETS.glue_job_name,
        Role=account_role,
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/curate_facilities.py"},
    )
    glue.create_crawler(
        Name=TARGETS.crawler_name,
        Role=account_role,
        DatabaseName=TARGETS.database,
        Targets={"S3Targets": [{"Path": f"s3://{TARGETS.curated_bucket}/facilities/"}]},
    )
    boto3.client("athena", region_name=REGION).create_work_group(
        Name=TARGETS.workgroup,
        Configuration={
            "ResultConfiguration": {
                "OutputLocation": f"s3://{TARGETS.athena_results_bucket}/{QUERY_RESULTS_PREFIX}"
            },
            "EnforceWorkGroupConfiguration": True,
        },
    )
    for function_arn in (TARGETS.notifier_function_arn, TARGETS.report_function_arn):
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=function_arn.rsplit(":", 1)[1],
            Runtime="python3.12",
            Role=account_role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": _notifier_zip()},
        )
    sns = boto3.client("sns", region_name=REGION)
    sns.create_topic(Name=TARGETS.status_topic_arn.rsplit(":", 1)[1])
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="status-messages")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=TARGETS.status_topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


@pytest.fixture
def athena_answers(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """`athena_answers(minimal_responses=True, header_only_results=True)`: switch the Athena adapter."""

    def switch(**switches: bool) -> None:
        for name, value in switches.items():
            if not hasattr(AthenaSync, name):
                raise AttributeError(f"AthenaSync has no switch {name!r}")
            monkeypatch.setattr(AthenaSync, name, value)

    return switch


@pytest.fixture
def upload_waits_held(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Holds every execution in the upload guard's Wait state until the test sets the returned event.

    A burst's executions then all exist before any of them asks which one is the newest, however late a
    loaded machine lets moto start them: the guard's decision is tested, not the machine's speed.
    """
    released = threading.Event()
    original = StateWait._eval_state

    def held_wait(self, env):
        if self.name == WAIT_FOR_MORE_UPLOADS and not released.wait(timeout=120):
            raise TimeoutError("the test never released the upload guard's Wait state")
        original(self, env)

    monkeypatch.setattr(StateWait, "_eval_state", held_wait)
    return released


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    original_factory: Callable = state_task_factory.state_task_service_for
    adapters = {"glue": GlueSync, "athena": AthenaSync, "aws-sdk": AwsSdk}

    def service_for(service_name: str):
        adapter = adapters.get(service_name)
        return adapter() if adapter else original_factory(service_name=service_name)

    monkeypatch.setattr(state_task_factory, "state_task_service_for", service_for)
    notifier = NotifierDouble()
    report = ReportDouble()

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        self.get_function(function_name, qualifier)  # an unknown function fails as in Lambda
        if function_name in (TARGETS.report_function_arn, TARGETS.report_function_arn.rsplit(":", 1)[1]):
            return report.invoke(body)
        return notifier.invoke(body)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    original_environment = ExecutionWorker._get_evaluation_environment

    def environment_with_string_start_time(self):
        # $$.Execution.StartTime is an ISO 8601 string in Step Functions; moto passes a datetime.
        environment = original_environment(self)
        execution = environment.states.context_object.context_object_data["Execution"]
        if isinstance(execution["StartTime"], datetime):
            started = execution["StartTime"].astimezone(UTC).isoformat(timespec="milliseconds")
            execution["StartTime"] = started.replace("+00:00", "Z")
        return environment

    monkeypatch.setattr(ExecutionWorker, "_get_evaluation_environment", environment_with_string_start_time)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        role_arn = boto3.client("iam", region_name=REGION).create_role(
            RoleName="hc-test-state-machine", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        queue_url = _create_resources(role_arn)
        yield World(notifier=notifier, report=report, status_queue_url=queue_url, role_arn=role_arn)
    state_manager.unset_transition("glue::crawl")
