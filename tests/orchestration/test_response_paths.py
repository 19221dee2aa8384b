"""What the definition reads from service answers and into its state: never what may be missing or grow.

A JSONPath that matches nothing in a ResultSelector, an OutputPath or a Choice is States.Runtime, and a
state input or output over the payload quota (256 KiB) is States.DataLimitExceeded. No Catch handles
either: "The States.ALL error type must appear alone in a Catcher and can't catch the
States.DataLimitExceeded terminal error or Runtime error types" ("Handling errors in Step Functions
workflows", https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html). moto fills
every member of every answer, so these rules are checked on the definition, against botocore's service
models (which members an answer always has) and the exceptions listed below, each with its reason.
"""

from __future__ import annotations

import re

import botocore.session
import pytest

from glue_jobs.curation.snapshots import MAX_SUMMARY_BYTES, summary_uri
from pipeline.state_machine import (
    CURATION_SUMMARY_KEY_FORMAT,
    PLACEHOLDER_TARGETS,
    build_state_machine,
)
from tests.orchestration.test_definition import _all_states

# Step Functions resource -> (botocore service, operation, shape of the answer the task gets).
ANSWERS = {
    "arn:aws:states:::aws-sdk:sfn:listExecutions": ("stepfunctions", "ListExecutions", None),
    "arn:aws:states:::aws-sdk:s3:getObject": ("s3", "GetObject", None),
    "arn:aws:states:::aws-sdk:glue:getCrawler": ("glue", "GetCrawler", None),
    "arn:aws:states:::aws-sdk:glue:startCrawler": ("glue", "StartCrawler", None),
    "arn:aws:states:::aws-sdk:s3:copyObject": ("s3", "CopyObject", None),
    # "Run a Job (.sync)": the task's output is the JobRun of GetJobRun once the run ends.
    "arn:aws:states:::glue:startJobRun.sync": ("glue", "GetJobRun", "JobRun"),
    # ".sync" for Athena: the output is GetQueryExecution's answer once the query ends.
    "arn:aws:states:::athena:startQueryExecution.sync": ("athena", "GetQueryExecution", None),
    "arn:aws:states:::lambda:invoke": ("lambda", "Invoke", None),
    "arn:aws:states:::sns:publish": ("sns", "Publish", None),
}

# Members botocore marks optional that these tasks read anyway, and why AWS always sends them here.
ACCEPTED_OPTIONAL_MEMBERS = {
    ("athena:startQueryExecution.sync", "$.QueryExecution.QueryExecutionId"): (
        "GetQueryExecution answers for the query the task started: 'information about the query "
        "execution is saved with a unique ID' (Athena API Reference, GetQueryExecution); an unknown id "
        "is an error, not an empty answer."
    ),
    ("glue:startJobRun.sync", "$.Id"): "JobRun.Id: 'The ID of this job run' (Glue API, JobRun structure).",
    ("glue:startJobRun.sync", "$.JobRunState"): (
        "JobRun.JobRunState: 'The current state of the job run'; a .sync task returns only once the run ends."
    ),
    (
        "aws-sdk:s3:getObject",
        "$.Body",
    ): "GetObject of an existing object returns its data ('Body: Object data').",
    ("aws-sdk:glue:getCrawler", "$.Crawler"): (
        "GetCrawler: 'Crawler: The metadata for the specified crawler'; a missing crawler is "
        "EntityNotFoundException, which the task's Catch handles."
    ),
    ("lambda:invoke", "$.Payload"): (
        "Step Functions' Lambda integration returns the function's response as Payload ('Invoke a Lambda "
        "function': the output includes Payload); a function error fails the task instead."
    ),
}
# The one index into a list: [0] of RUNNING executions is never missing, since the asking execution runs.
ACCEPTED_INDEXES = {("aws-sdk:sfn:listExecutions", "$.Executions[0]")}

# Choice variables compared without an IsPresent guard in the same rule, and why they are always there.
ACCEPTED_UNGUARDED_CHOICE_VARIABLES = {
    "$.upload_guard.newest_execution.ExecutionArn": "ExecutionListItem.executionArn is required (botocore).",
    "$.upload_guard.this_execution_arn": "set by the same task's ResultSelector from $$.Execution.Id",
    "$.crawl.status.crawler.State": (
        "Crawler.State: 'Indicates whether the crawler is running, or whether a run is pending' (Glue API, "
        "Crawler structure); every GetCrawler answer of an existing crawler carries it."
    ),
    "$.crawl.polls": "set by the definition's own states (Start the crawler, Count the crawler poll)",
}

_PATH = re.compile(r"(?<!\$)\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+")
_SESSION = botocore.session.get_session()


def _definition() -> dict:
    return build_state_machine(PLACEHOLDER_TARGETS)


def _response_paths(selector: dict) -> list[str]:
    paths = []
    for key, value in selector.items():
        if isinstance(value, dict):
            paths += _response_paths(value)
        elif key.endswith(".$"):
            paths += _PATH.findall(value)
    return paths


def _always_present(resource: str, path: str) -> bool:
    """Whether botocore's model marks every member along `path` as required."""
    service, operation, inner = ANSWERS[resource]
    model = _SESSION.get_service_model(service)
    shape = model.operation_model(operation).output_shape
    if inner:
        shape = shape.members[inner]
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        member, index = step
        if index:
            return False
        by_lower = {name.lower(): name for name in shape.members}
        name = by_lower.get(member.lower())
        if name is None or name not in shape.required_members:
            return False
        shape = shape.members[name]
    return True


def _tasks_reading_answers(definition: dict) -> list[tuple[str, dict]]:
    return [
        (name, state)
        for name, state in _all_states(definition).items()
        if state["Type"] == "Task" and ("ResultSelector" in state or state.get("ResultPath") != "$")
    ]


def test_every_path_into_a_service_answer_is_always_there():
    unexplained = []
    for name, state in _tasks_reading_answers(_definition()):
        short = state["Resource"].removeprefix("arn:aws:states:::")
        for path in _response_paths(state.get("ResultSelector", {})):
            if _always_present(state["Resource"], path):
                continue
            if (short, path) in ACCEPTED_OPTIONAL_MEMBERS:
                continue
            indexed = re.match(r"\$\.[A-Za-z]+\[0\]", path)
            if indexed and (short, indexed.group(0)) in ACCEPTED_INDEXES:
                continue
            unexplained.append(f"{name}: {path} of {short}")
    assert unexplained == [], "paths AWS may leave out of its answer (guard with IsPresent or explain)"


def test_the_check_refuses_the_runtime_statistics_path_athena_fills_late():
    # The path the row counts were read from: GetQueryRuntimeStatistics has no required member at all.
    model = _SESSION.get_service_model("athena")
    statistics = model.operation_model("GetQueryRuntimeStatistics").output_shape
    assert statistics.required_members == []
    assert not _always_present(
        "arn:aws:states:::athena:startQueryExecution.sync",
        "$.QueryExecution.ResultConfiguration.OutputLocation",
    )
    assert _always_present("arn:aws:states:::aws-sdk:sfn:listExecutions", "$.Executions")


def test_no_output_path_selects_from_a_raw_answer():
    # An OutputPath applies after ResultPath; here it keeps only what the ResultSelector put there.
    for name, state in _all_states(_definition()).items():
        if "OutputPath" in state:
            selected = [state["ResultPath"]]
            selected += [f"{state['ResultPath']}.{key.removesuffix('.$')}" for key in state["ResultSelector"]]
            assert state["OutputPath"] in selected, name


def _choice_rules(rule: dict, guarded: frozenset[str] = frozenset()):
    if "And" in rule:
        present = frozenset(r["Variable"] for r in rule["And"] if r.get("IsPresent") is True)
        for inner in rule["And"]:
            yield from _choice_rules(inner, guarded | present)
    elif "Or" in rule:
        for inner in rule["Or"]:
            yield from _choice_rules(inner, guarded)
    elif "Not" in rule:
        yield from _choice_rules(rule["Not"], guarded)
    else:
        yield rule, guarded


def test_every_choice_variable_is_guarded_or_always_there():
    unexplained = []
    for name, state in _all_states(_definition()).items():
        if state["Type"] != "Choice":
            continue
        for top in state["Choices"]:
            for rule, guarded in _choice_rules(top):
                variables = [rule["Variable"]] + [
                    v for k, v in rule.items() if k.endswith("Path") and k != "Next"
                ]
                for variable in variables:
                    if "IsPresent" in rule or variable in guarded:
                        continue
                    if variable not in ACCEPTED_UNGUARDED_CHOICE_VARIABLES:
                        unexplained.append(f"{name}: {variable}")
    assert unexplained == []


def test_the_only_object_read_into_the_state_is_the_bounded_curation_summary():
    """The job writes the summary under the key the state machine reads, and keeps it under a fixed size
    (pinned for 100,000 raw files in tests/glue_jobs); any other object read into the state could grow."""
    readers = [
        state
        for state in _all_states(_definition()).values()
        if state.get("Resource") == "arn:aws:states:::aws-sdk:s3:getObject"
    ]

    assert len(readers) == 1
    (reader,) = readers
    assert reader["Parameters"]["Bucket"] == PLACEHOLDER_TARGETS.curated_bucket
    assert reader["Parameters"]["Key.$"] == f"States.Format('{CURATION_SUMMARY_KEY_FORMAT}', $.as_of)"
    assert (
        summary_uri("s3://bucket/", "2026-12-01")
        == f"s3://bucket/{CURATION_SUMMARY_KEY_FORMAT.format('2026-12-01')}"
    )
    assert MAX_SUMMARY_BYTES <= 8 * 1024


@pytest.mark.parametrize("resource", sorted(ANSWERS))
def test_every_answer_shape_named_here_exists_in_botocore(resource):
    service, operation, inner = ANSWERS[resource]
    shape = _SESSION.get_service_model(service).operation_model(operation).output_shape
    assert inner is None or inner in shape.members
