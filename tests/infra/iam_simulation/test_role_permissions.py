"""Every role can do what its code does, and nothing it does not: recorded calls, evaluated by iam-simulate.

The policies are the ones the Pulumi program produces under mocks (each role's inline policy and the AWS
managed policy attached to the crawler, the KMS key policy, the bucket and topic policies); the evaluation
is npm @cloud-copilot/iam-simulate, which also checks each action and resource ARN against the Service
Authorization Reference (iam-data).
"""

from __future__ import annotations

import ast

import pytest
from iam_managed_policies import MANAGED_POLICIES
from iam_recording import ROOT
from iam_requests import (
    AccessRequest,
    NotifierBinding,
    ReportBinding,
    Stack,
    crawler_requests,
    distinct,
    glue_job_requests,
    recorded_requests,
    s3_arn,
    state_machine_requests,
    trigger_requests,
)
from iam_simulator import Decision, simulate

pytestmark = pytest.mark.spark


def denied_calls_the_code_never_makes(stack: Stack) -> list[AccessRequest]:
    """Controls: each is a plausible mistake, so a policy that allows it would be too broad."""
    database = stack.outputs["glue_database"]
    key = stack.outputs["kms_key_arn"]
    table = stack.arn("glue", f"table/{database}/facilities")
    execution = stack.state_machine["arn"].replace(":stateMachine:", ":execution:") + ":some-run"

    def obj(zone: str, key: str) -> str:
        return s3_arn(stack.bucket(zone), key)

    controls = [
        ("notifier", "s3:DeleteObject", obj("raw", "in/a.ndjson")),
        ("notifier", "s3:PutObject", obj("production", "latest/x.csv")),
        ("notifier", "s3:PutObject", obj("athena-results", "queries/q.csv")),
        ("notifier", "sns:Publish", stack.outputs["status_topic_arn"]),
        ("notifier", "dynamodb:Scan", stack.arn("dynamodb", "table/other-table")),
        ("notifier", "kms:ScheduleKeyDeletion", key),
        ("glue_job", "glue:DeleteDatabase", stack.arn("glue", f"database/{database}")),
        ("glue_job", "glue:DeleteTable", table),
        ("glue_job", "s3:PutObject", obj("raw", "in/forged.ndjson")),
        ("glue_job", "s3:DeleteObject", obj("raw", "in/a.ndjson")),
        ("glue_job", "s3:PutObject", obj("artifacts", "glue_jobs/x.py")),
        ("glue_job", "s3:GetObject", obj("production", "latest/x.csv")),
        ("crawler", "s3:GetObject", obj("raw", "in/a.ndjson")),
        ("crawler", "s3:PutObject", obj("curated", "facilities/x.parquet")),
        ("crawler", "s3:DeleteObject", obj("curated", "facilities/x.parquet")),
        ("state_machine", "s3:DeleteObject", obj("production", "latest/x")),
        ("state_machine", "s3:PutObject", obj("raw", "in/a.ndjson")),
        ("state_machine", "glue:DeleteTable", table),
        ("state_machine", "lambda:UpdateFunctionCode", stack.arn("lambda", "function:other")),
        ("raw_arrival", "states:StopExecution", execution),
        ("raw_arrival", "kms:Decrypt", key),
        ("schedule", "s3:GetObject", obj("raw", "in/a.ndjson")),
        ("report", "s3:PutObject", obj("production", "as_of=2026-12-01/facility_metrics.csv")),
        ("report", "s3:DeleteObject", obj("production", "latest/report.html")),
        ("report", "s3:GetObject", obj("raw", "in/a.ndjson")),
    ]
    return [
        # The bucket policies refuse plain HTTP even to a role that may read the object.
        AccessRequest(
            stack.roles["notifier"],
            "s3:GetObject",
            obj("athena-results", "queries/q.csv"),
            (("aws:SecureTransport", "false"),),
        ),
        *(
            AccessRequest(stack.roles[kind], action, resource)
            for kind, action, resource in controls
            if kind in stack.roles
        ),
    ]


def report_test_buckets() -> dict[str, str]:
    """The zone each bucket name of the report's handler tests stands for, read from that test module."""
    module = ast.parse((ROOT / "tests" / "report" / "test_report_handler.py").read_text(encoding="utf-8"))
    names = {
        target.id: node.value.value
        for node in module.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    return {names["PRODUCTION_BUCKET"]: "production", names["CURATED_BUCKET"]: "curated"}


@pytest.fixture(scope="session")
def required(stack, notifier_calls, notifier_testkit, recorded_calls, job_recording) -> list[AccessRequest]:
    notifier = recorded_requests(
        stack, stack.roles["notifier"], notifier_calls, NotifierBinding(stack, notifier_testkit)
    )
    # The run report joins the simulation with its role (a stack without the report has neither).
    report = (
        recorded_requests(
            stack,
            stack.roles["report"],
            recorded_calls("report"),
            ReportBinding(stack, report_test_buckets()),
        )
        if "report" in stack.roles
        else []
    )
    return distinct(
        [
            *notifier,
            *report,
            *glue_job_requests(stack, job_recording),
            *state_machine_requests(stack),
            *crawler_requests(stack),
            *trigger_requests(stack),
        ]
    )


@pytest.fixture(scope="session")
def decisions(stack, required, simulation_summary) -> tuple[list[Decision], list[Decision]]:
    """(required, controls): one simulator process for both."""
    controls = denied_calls_the_code_never_makes(stack)
    evaluated = simulate(stack, [*required, *controls])
    needed, checked = evaluated[: len(required)], evaluated[len(required) :]
    triples = {d.request.triple for d in needed}
    denied = {d.request.triple for d in needed if not d.allowed}
    simulation_summary(
        f"IAM simulation (iam-simulate): {len(triples)} distinct (role, action, resource) triples of "
        f"{len({role for role, _, _ in triples})} roles, {len(denied)} denied; "
        f"{sum(not d.allowed for d in checked)} of {len(checked)} calls the code never makes denied"
    )
    return needed, checked


def test_the_recordings_cover_what_each_piece_of_code_does(notifier_calls, job_recording):
    # GIVEN the calls recorded while the notifier's tests and three job runs ran
    notifier = {f"{c.service}:{c.operation}" for c in notifier_calls}
    job = {f"{c.service}:{c.operation}" for c in job_recording.calls}
    # THEN every adapter path is among them, so an empty recording cannot pass for a clean bill
    assert {
        "s3:GetObject",
        "s3:PutObject",
        "sns:Publish",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    } <= notifier
    assert any(c.operation == "GetObject" and c.error_code == "NoSuchKey" for c in notifier_calls)
    assert {
        "s3:ListObjectsV2",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObjects",
        "glue:GetTable",
        "glue:GetPartitions",
        "glue:CreatePartition",
        "glue:BatchDeletePartition",
    } <= job
    assert all(io.writes for io in job_recording.spark_io)


def test_the_report_recording_covers_its_reads_and_writes(stack, recorded_calls):
    if "report" not in stack.roles:
        pytest.skip("this stack has no run report")
    report = {f"{c.service}:{c.operation}" for c in recorded_calls("report")}
    assert {"s3:GetObject", "s3:PutObject", "s3:ListObjectsV2"} <= report


def test_every_role_of_the_stack_is_simulated_with_every_policy_attached_to_it(deployment, stack):
    # A role added without its calls here, or a managed policy the simulation cannot read, would go
    # unproven: add the role's calls (recorded or documented) and the policy's document.
    roles = {r.inputs["name"] for r in deployment.of_type("aws:iam/role:Role")}
    assert roles == set(stack.roles.values())
    assert roles <= set(stack.role_policies)
    attached = {name for names in stack.managed_policies.values() for name in names}
    assert attached <= set(MANAGED_POLICIES)


def test_every_call_the_code_makes_is_allowed(decisions):
    required, _ = decisions
    errors = [d for d in required if d.result == "Error"]
    assert not errors, "requests iam-simulate refused: " + "\n".join(
        f"{d.request.triple}: {d.detail}" for d in errors
    )
    denied = [d for d in required if not d.allowed]
    assert not denied, f"{len(denied)} of {len(required)} requests denied:\n" + "\n".join(
        f"{d.result}: {d.request.role} {d.request.action} {d.request.resource} "
        f"{dict(d.request.context)} <- {d.request.reason}"
        for d in denied
    )


def test_calls_the_code_never_makes_are_denied(decisions):
    _, controls = decisions
    assert [(d.request.triple, d.detail) for d in controls if d.result == "Error"] == []
    allowed = [d.request.triple for d in controls if d.allowed]
    assert allowed == []
