"""Every role can do what its code does, and nothing it does not: recorded calls, evaluated by iam-simulate.

The policies are the ones the Pulumi program produces under mocks (identity policies of each role, the
KMS key policy, the bucket and topic policies); the evaluation is npm @cloud-copilot/iam-simulate, which
also checks each action and resource ARN against the Service Authorization Reference (iam-data).
"""

from __future__ import annotations

import pytest
from iam_requests import (
    AccessRequest,
    NotifierBinding,
    Stack,
    distinct,
    glue_job_requests,
    iter_triples,
    recorded_requests,
    s3_arn,
    state_machine_requests,
    trigger_requests,
)
from iam_simulator import Decision, simulate

pytestmark = pytest.mark.spark


def denied_calls_the_code_never_makes(stack: Stack) -> list[AccessRequest]:
    """Controls: each is a plausible mistake, so a policy that allows it would be too broad."""
    roles = stack.roles
    key = stack.outputs["kms_key_arn"]
    database = stack.outputs["glue_database"]
    execution = stack.state_machine["arn"].replace(":stateMachine:", ":execution:") + ":some-run"
    results = s3_arn(stack.bucket("athena-results"), "queries/q.csv")
    return [
        # The bucket policies refuse plain HTTP even to a role that may read the object.
        AccessRequest(roles["notifier"], "s3:GetObject", results, (("aws:SecureTransport", "false"),)),
        AccessRequest(roles["notifier"], "s3:DeleteObject", s3_arn(stack.bucket("raw"), "in/a.ndjson")),
        AccessRequest(roles["notifier"], "s3:PutObject", s3_arn(stack.bucket("production"), "latest/x.csv")),
        AccessRequest(
            roles["notifier"], "s3:PutObject", s3_arn(stack.bucket("athena-results"), "queries/q.csv")
        ),
        AccessRequest(roles["notifier"], "sns:Publish", stack.outputs["status_topic_arn"]),
        AccessRequest(roles["notifier"], "dynamodb:Scan", stack.arn("dynamodb", "table/other-table")),
        AccessRequest(roles["notifier"], "kms:ScheduleKeyDeletion", key),
        AccessRequest(roles["glue_job"], "glue:DeleteDatabase", stack.arn("glue", f"database/{database}")),
        AccessRequest(
            roles["glue_job"], "glue:DeleteTable", stack.arn("glue", f"table/{database}/facilities")
        ),
        AccessRequest(roles["glue_job"], "s3:PutObject", s3_arn(stack.bucket("raw"), "in/forged.ndjson")),
        AccessRequest(roles["glue_job"], "s3:DeleteObject", s3_arn(stack.bucket("raw"), "in/a.ndjson")),
        AccessRequest(roles["glue_job"], "s3:PutObject", s3_arn(stack.bucket("artifacts"), "glue_jobs/x.py")),
        AccessRequest(roles["glue_job"], "s3:GetObject", s3_arn(stack.bucket("production"), "latest/x.csv")),
        AccessRequest(
            roles["state_machine"], "s3:DeleteObject", s3_arn(stack.bucket("production"), "latest/x")
        ),
        AccessRequest(roles["state_machine"], "s3:PutObject", s3_arn(stack.bucket("raw"), "in/a.ndjson")),
        AccessRequest(
            roles["state_machine"], "glue:DeleteTable", stack.arn("glue", f"table/{database}/facilities")
        ),
        AccessRequest(
            roles["state_machine"], "lambda:UpdateFunctionCode", stack.arn("lambda", "function:other")
        ),
        AccessRequest(roles["raw_arrival"], "states:StopExecution", execution),
        AccessRequest(roles["raw_arrival"], "kms:Decrypt", key),
        AccessRequest(roles["schedule"], "s3:GetObject", s3_arn(stack.bucket("raw"), "in/a.ndjson")),
    ]


@pytest.fixture(scope="session")
def required(stack, notifier_calls, notifier_testkit, job_recording) -> list[AccessRequest]:
    notifier = recorded_requests(
        stack, stack.roles["notifier"], notifier_calls, NotifierBinding(stack, notifier_testkit)
    )
    return distinct(
        [
            *notifier,
            *glue_job_requests(stack, job_recording),
            *state_machine_requests(stack),
            *trigger_requests(stack),
        ]
    )


@pytest.fixture(scope="session")
def decisions(stack, required) -> tuple[list[Decision], list[Decision]]:
    """(required, controls): one simulator process for both."""
    controls = denied_calls_the_code_never_makes(stack)
    evaluated = simulate(stack, [*required, *controls])
    return evaluated[: len(required)], evaluated[len(required) :]


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


def test_every_role_carries_only_the_inline_policy_the_simulation_reads(deployment, stack):
    # A managed policy attached elsewhere would grant what this simulation cannot see.
    attached = {
        r.inputs["role"] for r in deployment.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    evaluated = {
        stack.roles[kind] for kind in ("notifier", "glue_job", "state_machine", "raw_arrival", "schedule")
    }
    assert not attached & evaluated
    assert evaluated <= set(stack.role_policies)


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
    triples = list(iter_triples(d.request for d in required))
    roles = sorted({role for role, _, _ in triples})
    print(f"\nIAM simulation: {len(triples)} distinct (role, action, resource) triples allowed for {roles}")


def test_calls_the_code_never_makes_are_denied(decisions):
    _, controls = decisions
    assert [(d.request.triple, d.detail) for d in controls if d.result == "Error"] == []
    allowed = [d.request.triple for d in controls if d.allowed]
    assert allowed == []
