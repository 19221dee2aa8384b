"""The state machine role allows exactly what the definition's tasks call, on the right resources."""

from __future__ import annotations

import copy
import json
import os
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from parliament import analyze_policy_string

from infra.orchestration import raw_object_created_pattern, start_execution_policy
from infra.state_machine_policy import (
    RULES,
    StateMachineAccess,
    UnsupportedIntegration,
    integration_of,
    iter_tasks,
    state_machine_policy,
)
from pipeline.state_machine import PLACEHOLDER_TARGETS as T
from pipeline.state_machine import build_state_machine

GOLDEN = Path(__file__).parent / "golden" / "state_machine_policy.json"
ACCOUNT = "123456789012"
MACHINE_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:hc-accred-dev-pipeline"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
ACCESS = StateMachineAccess(
    partition="aws",
    region="us-east-1",
    account_id=ACCOUNT,
    state_machine_arn=MACHINE_ARN,
    athena_results_bucket=T.athena_results_bucket,
    athena_data_buckets=(T.curated_bucket,),
    kms_key_arns=(KEY_ARN,),
)


def _s3(path: str) -> str:
    return f"arn:aws:s3:::{path}"


def _glue(resource: str) -> str:
    return f"arn:aws:glue:us-east-1:{ACCOUNT}:{resource}"


WORKGROUP = f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/{T.workgroup}"
# What each integration needs, written out from the AWS docs ("IAM policies for ... integrations" and the
# Service Authorization Reference), independently of infra/state_machine_policy.py.
OPTIMIZED = {
    "glue:startJobRun.sync": {
        action: [_glue(f"job/{T.glue_job_name}")]
        for action in ("glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun")
    },
    "athena:startQueryExecution.sync": {
        **{
            action: [WORKGROUP]
            for action in (
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:StopQueryExecution",
            )
        },
        "athena:GetDataCatalog": [f"arn:aws:athena:us-east-1:{ACCOUNT}:datacatalog/AwsDataCatalog"],
        **{
            action: [
                _glue("catalog"),
                _glue(f"database/{T.database}"),
                _glue(f"table/{T.database}/facilities"),
            ]
            for action in ("glue:GetDatabase", "glue:GetTable", "glue:GetPartitions")
        },
        "s3:GetObject": [_s3(f"{T.curated_bucket}/facilities/snapshot_date=2026-12-01/part-0.parquet")],
        "s3:ListBucket": [_s3(T.curated_bucket), _s3(T.athena_results_bucket)],
        "s3:GetBucketLocation": [_s3(T.curated_bucket), _s3(T.athena_results_bucket)],
        "s3:PutObject": [_s3(f"{T.athena_results_bucket}/queries/abc.csv")],
        "kms:GenerateDataKey": [KEY_ARN],
        "kms:Decrypt": [KEY_ARN],
    },
    "lambda:invoke": {"lambda:InvokeFunction": [T.notifier_function_arn]},
    "sns:publish": {"sns:Publish": [T.status_topic_arn], "kms:GenerateDataKey": [KEY_ARN]},
}
# Per aws-sdk API call (named from the Resource ARN as service:Action), the IAM actions it needs and the
# resources it touches. Most calls need the IAM action of the same name; CopyObject reads its source and
# writes its target.
SDK_CALLS = {
    "states:ListExecutions": {"states:ListExecutions": [MACHINE_ARN]},
    "glue:StartCrawler": {"glue:StartCrawler": [_glue(f"crawler/{T.crawler_name}")]},
    "glue:GetCrawler": {"glue:GetCrawler": [_glue(f"crawler/{T.crawler_name}")]},
    "s3:GetObject": {
        "s3:GetObject": [_s3(f"{T.curated_bucket}/_reports/snapshot_date=2026-12-01/curation_report.json")],
        "kms:Decrypt": [KEY_ARN],
    },
    "s3:CopyObject": {
        "s3:GetObject": [
            _s3(f"{T.athena_results_bucket}/queries/abc.csv"),
            _s3(f"{T.athena_results_bucket}/notifier/run-1/accreditation_alerts.csv"),
        ],
        "s3:PutObject": [
            _s3(f"{T.production_bucket}/as_of=2026-12-01/facility_metrics.csv"),
            _s3(f"{T.production_bucket}/latest/facility_metrics.csv"),
        ],
        "kms:Decrypt": [KEY_ARN],
        "kms:GenerateDataKey": [KEY_ARN],
    },
}
IAM_PREFIX = {"sfn": "states"}
LOGGING = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
}
LOGGING |= {"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies"}
LOGGING |= {"logs:DescribeLogGroups"}
TRACING = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}


def required_permissions(definition: dict) -> set[tuple[str, str]]:
    """(action, resource) pairs the tasks of `definition` need, derived from each Task's Resource."""
    required: set[tuple[str, str]] = set()
    for task in iter_tasks(definition):
        integration = task.resource.removeprefix("arn:aws:states:::")
        if integration.startswith("aws-sdk:"):
            _, service, api = integration.split(":")
            action = f"{IAM_PREFIX.get(service, service)}:{api[0].upper()}{api[1:]}"
            assert action in SDK_CALLS, f"no expectation written for {action}"
            required |= {(a, r) for a, resources in SDK_CALLS[action].items() for r in resources}
        else:
            assert integration in OPTIMIZED, f"no expectation written for {integration}"
            required |= {(a, r) for a, resources in OPTIMIZED[integration].items() for r in resources}
    return required


def _allows(policy: dict, action: str, resource: str) -> bool:
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if (
            statement["Effect"] == "Allow"
            and action in actions
            and any(fnmatchcase(resource, pattern) for pattern in resources)
        ):
            return True
    return False


def missing_permissions(definition: dict, policy: dict) -> set[tuple[str, str]]:
    return {(a, r) for a, r in required_permissions(definition) if not _allows(policy, a, r)}


@pytest.fixture
def definition() -> dict:
    return build_state_machine(T)


def test_policy_allows_every_action_every_task_calls(definition):
    assert missing_permissions(definition, state_machine_policy(definition, ACCESS)) == set()


def test_policy_allows_nothing_else(definition):
    policy = state_machine_policy(definition, ACCESS)
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    needed = {action for action, _ in required_permissions(definition)}
    # Athena also batches partition reads and writes large results in parts; logs and X-Ray need their own.
    athena_extras = {
        "glue:GetPartition",
        "glue:BatchGetPartition",
        "s3:ListBucketMultipartUploads",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
    }
    assert granted == needed | athena_extras | LOGGING | TRACING


def test_resources_are_scoped(definition):
    policy = state_machine_policy(definition, ACCESS)
    for statement in policy["Statement"]:
        assert not any("*" in action for action in statement["Action"]), statement
        if statement["Resource"] == "*":
            assert set(statement["Action"]) <= LOGGING | TRACING, statement
    # Nothing outside its zone: no raw or quarantine access, no writes to curated or production roots.
    assert not _allows(policy, "s3:GetObject", _s3(f"{T.production_bucket}/as_of=2026-12-01/x.csv"))
    assert not _allows(policy, "s3:PutObject", _s3(f"{T.curated_bucket}/facilities/x.parquet"))
    assert not _allows(policy, "s3:PutObject", _s3(f"{T.production_bucket}/other/x.csv"))
    assert not _allows(policy, "states:ListExecutions", MACHINE_ARN.replace("pipeline", "other"))
    assert not _allows(policy, "sns:Publish", T.status_topic_arn.replace("status", "critical"))


def test_removing_any_statement_loses_a_needed_permission(definition):
    policy = state_machine_policy(definition, ACCESS)
    for index, statement in enumerate(policy["Statement"]):
        if statement["Resource"] == "*":
            continue
        reduced = copy.deepcopy(policy)
        del reduced["Statement"][index]
        assert missing_permissions(definition, reduced), f"statement {statement['Sid']} grants nothing needed"


def test_a_task_without_a_permission_rule_is_refused(definition):
    definition["States"]["Pipeline succeeded"] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
        "Parameters": {"TableName": "t", "Item": {}},
        "End": True,
    }
    with pytest.raises(UnsupportedIntegration, match="dynamodb:putItem"):
        state_machine_policy(definition, ACCESS)


def test_every_permission_rule_serves_a_task_of_the_definition(definition):
    assert set(RULES) == {integration_of(task.resource) for task in iter_tasks(definition)}


def test_a_new_target_is_granted_because_grants_come_from_the_definition(definition):
    other_topic = T.status_topic_arn.replace("status", "audit")
    definition["States"]["Notify failure"]["Parameters"]["TopicArn"] = other_topic
    policy = state_machine_policy(definition, ACCESS)
    assert _allows(policy, "sns:Publish", other_topic)
    assert not _allows(policy, "sns:Publish", T.status_topic_arn.replace("status", "critical"))


def test_a_task_whose_target_is_only_known_at_run_time_is_refused(definition):
    task = definition["States"]["Notify failure"]["Parameters"]
    task["TopicArn.$"] = task.pop("TopicArn") and "$.topic"
    with pytest.raises(UnsupportedIntegration, match="TopicArn"):
        state_machine_policy(definition, ACCESS)


def test_policies_pass_parliament(definition):
    documents = [state_machine_policy(definition, ACCESS), start_execution_policy(MACHINE_ARN, KEY_ARN)]
    for document in documents:
        findings = analyze_policy_string(json.dumps(document)).findings
        assert [(f.issue, f.detail) for f in findings] == []


def test_policy_matches_its_golden_file(definition):
    policy = state_machine_policy(definition, ACCESS)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(policy, indent=2) + "\n")
    assert policy == json.loads(GOLDEN.read_text()), "policy changed: review, then rerun with UPDATE_GOLDEN=1"


def test_only_raw_bucket_uploads_start_the_pipeline():
    pattern = raw_object_created_pattern("hc-raw")
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["hc-raw"]}},
    }
