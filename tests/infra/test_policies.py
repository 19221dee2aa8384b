"""Every deployed policy document: parliament, no wildcard actions, encryption everywhere, golden files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from parliament import analyze_policy_string

from infra import policies

GOLDEN = Path(__file__).parent / "golden"
# Actions that have no resource type, so `Resource: "*"` is their only form (scoped by condition if possible).
UNSCOPABLE_ACTIONS = {
    "cloudwatch:PutMetricData",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
}
# Where a policy document lives in each resource type's inputs, and what kind of document it is.
POLICY_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": ("policy", "identity"),
    "aws:iam/policy:Policy": ("policy", "identity"),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy", "resource"),
    "aws:iam/role:Role": ("assumeRolePolicy", "trust"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy", "resource"),
    "aws:sns/topicPolicy:TopicPolicy": ("policy", "resource"),
    "aws:kms/key:Key": ("policy", "key"),
}


def policy_documents(deployment) -> dict[str, tuple[str, dict]]:
    """{resource name: (kind, document)} for every policy document in the deployment."""
    documents = {}
    for type_, (field, kind) in POLICY_INPUTS.items():
        for resource in deployment.of_type(type_):
            documents[resource.name] = (kind, json.loads(resource.inputs[field]))
    return documents


def statements(document: dict) -> list[dict]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_one_role_per_principal_each_with_its_own_inline_policy(deployment):
    roles = {r.inputs["name"] for r in deployment.of_type("aws:iam/role:Role")}
    inline = [r.inputs["role"] for r in deployment.of_type("aws:iam/rolePolicy:RolePolicy")]
    assert roles == {
        "hc-accred-dev-glue-job",
        "hc-accred-dev-crawler",
        "hc-accred-dev-notifier",
        "hc-accred-dev-run-report",
        "hc-accred-dev-state-machine",
        "hc-accred-dev-raw-arrival",
        "hc-accred-dev-schedule",
    }
    assert set(inline) == roles and len(inline) == len(set(inline))
    # One managed policy, where Glue documents it: the crawler's (test_crawler_role_* below).
    attachments = deployment.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert [(a.inputs["role"], a.inputs["policyArn"]) for a in attachments] == [
        ("hc-accred-dev-crawler", "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole")
    ]


def test_crawler_role_has_glues_managed_service_policy_and_an_inline_one_for_this_stack(deployment):
    """A re-crawl of partitioned tables calls more of the catalog and S3 than a hand-picked subset held
    (glue:BatchUpdatePartition, s3:GetBucketLocation, ...); Glue documents a crawler role as the AWS
    managed policy AWSGlueServiceRole plus an inline policy for the data source, and for KMS-encrypted
    S3 data decrypt permissions on the key.

    Sources: "Crawler prerequisites" (AWS Glue Developer Guide),
    https://docs.aws.amazon.com/glue/latest/dg/crawler-prereqs.html; "AWSGlueServiceRole" (AWS Managed
    Policy Reference), https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSGlueServiceRole.html;
    "Step 3: Configure security settings",
    https://docs.aws.amazon.com/glue/latest/dg/define-crawler-configure-security-settings.html
    """
    (attachment,) = [
        a
        for a in deployment.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == "hc-accred-dev-crawler"
    ]
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"
    _, inline = policy_documents(deployment)["hc-accred-dev-crawler-policy"]
    curated = "arn:aws:s3:::hc-accred-dev-curated-123456789012"
    resources = {r for s in statements(inline) for r in as_list(s["Resource"])}
    assert curated in resources and f"{curated}/facilities/*" in resources
    assert any(r.startswith("arn:aws:kms:") for r in resources)
    assert "*" not in resources


def test_identity_and_resource_policies_pass_parliament(deployment):
    for name, (kind, document) in policy_documents(deployment).items():
        if kind == "trust":
            continue
        if kind == "key":
            issues = key_policy_issues(document)
        else:
            issues = [(f.issue, f.detail) for f in analyze_policy_string(json.dumps(document)).findings]
        assert issues == [], f"{name}: {issues}"


def test_parliament_reviews_the_orchestration_policies(deployment):
    # The generic parliament test covers every role policy; this pins that the orchestration's are among them.
    documents = policy_documents(deployment)
    for name in (
        "hc-accred-dev-state-machine-policy",
        "hc-accred-dev-raw-arrival-policy",
        "hc-accred-dev-schedule-policy",
    ):
        kind, document = documents[name]
        assert kind == "identity", name
        assert analyze_policy_string(json.dumps(document)).findings == [], name


def key_policy_issues(document: dict) -> list[tuple[str, object]]:
    findings = analyze_policy_string(json.dumps(document)).findings
    # In a key policy `Resource: "*"` means the key the policy is attached to, nothing else.
    return [(f.issue, f.detail) for f in findings if f.issue != "RESOURCE_STAR"]


def test_data_key_lets_log_delivery_decrypt_only_for_this_account():
    """Vended log delivery (the state machine's execution logs) decrypts data keys that the execution role
    generated under the encryption context `SourceArn = arn:<partition>:logs:<region>:<account>:*`
    (Step Functions documents the role's kms:GenerateDataKey with exactly that condition, and Decrypt for
    delivery.logs.amazonaws.com in the key policy); the key policy statement for delivery.logs is
    conditioned on that context key, as AWS documents it for vended logs, not on aws:SourceAccount /
    aws:SourceArn.

    Sources: "Data at rest encryption in Step Functions" (AWS Step Functions Developer Guide),
    https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html; "AWS KMS key policy
    permissions for event bus logging" (Amazon EventBridge User Guide),
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-logs.html; "Enable logging from
    AWS services" (Amazon CloudWatch Logs User Guide),
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html
    """
    # GIVEN a partition/region/account other than the dev stack's, so nothing is hard-coded
    document = policies.data_key_policy(
        partition="aws-us-gov", region="us-gov-west-1", account_id="210987654321"
    )
    # THEN vended log delivery (the state machine's execution logs) may decrypt, scoped to this account
    (delivery,) = [
        s for s in statements(document) if s["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    ]
    assert delivery == {
        "Sid": "LogDeliveryDecryptsStateMachineDataOfThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": ["kms:Decrypt"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:EncryptionContext:SourceArn": "arn:aws-us-gov:logs:us-gov-west-1:210987654321:*"
            },
        },
    }
    assert key_policy_issues(document) == []


def test_trust_policies_let_one_service_assume_the_role(deployment):
    # parliament needs a Resource element, which IAM forbids in trust policies; checked here instead.
    for name, (kind, document) in policy_documents(deployment).items():
        if kind != "trust":
            continue
        (statement,) = statements(document)
        assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole", name
        assert set(statement["Principal"]) == {"Service"}, name
        assert isinstance(statement["Principal"]["Service"], str), name
        assert statement["Principal"]["Service"].endswith(".amazonaws.com"), name


def test_no_policy_allows_a_wildcard_action(deployment):
    for name, (_, document) in policy_documents(deployment).items():
        for statement in statements(document):
            assert "NotAction" not in statement, name
            actions = as_list(statement["Action"])
            if statement["Effect"] == "Deny":
                # Denying every action without TLS is the only place a wildcard is right.
                assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, name
                continue
            wildcards = [action for action in actions if "*" in action]
            assert wildcards == [], f"{name} allows {wildcards}"


def test_identity_policies_use_resource_star_only_for_unscopable_actions(deployment):
    for name, (kind, document) in policy_documents(deployment).items():
        if kind != "identity":
            continue
        for statement in statements(document):
            if "*" in as_list(statement["Resource"]):
                assert set(as_list(statement["Action"])) <= UNSCOPABLE_ACTIONS, f"{name}: {statement}"


def test_the_wildcard_check_fails_on_a_wildcard_action():
    class Fake:
        def of_type(self, type_):
            if type_ != "aws:iam/rolePolicy:RolePolicy":
                return []
            document = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
            return [type("R", (), {"name": "bad", "inputs": {"policy": json.dumps(document)}})()]

    with pytest.raises(AssertionError, match="allows"):
        test_no_policy_allows_a_wildcard_action(Fake())


# Every resource type the program creates, by whether it stores or moves data; a new type fails the
# test below until it is classified (and, if it holds data, its encryption asserted here).
ENCRYPTION_CHECKS = {
    "aws:s3/bucket:Bucket": lambda r, d: r.inputs["bucket"] in _encrypted_buckets(d),
    "aws:s3/bucketObject:BucketObject": lambda r, d: (
        r.inputs.get("serverSideEncryption") == "aws:kms" and r.inputs.get("kmsKeyId")
    ),
    "aws:sns/topic:Topic": lambda r, d: bool(r.inputs.get("kmsMasterKeyId")),
    "aws:dynamodb/table:Table": lambda r, d: (
        r.inputs["serverSideEncryption"]["enabled"] and r.inputs["serverSideEncryption"].get("kmsKeyArn")
    ),
    "aws:cloudwatch/logGroup:LogGroup": lambda r, d: bool(r.inputs.get("kmsKeyId")),
    "aws:lambda/function:Function": lambda r, d: bool(r.inputs.get("kmsKeyArn")),
    "aws:athena/workgroup:Workgroup": lambda r, d: (
        r.inputs["configuration"]["resultConfiguration"]["encryptionConfiguration"]["encryptionOption"]
        == "SSE_KMS"
    ),
    "aws:glue/job:Job": lambda r, d: bool(r.inputs.get("securityConfiguration")),
    "aws:glue/crawler:Crawler": lambda r, d: bool(r.inputs.get("securityConfiguration")),
    "aws:sfn/stateMachine:StateMachine": lambda r, d: (
        (r.inputs.get("encryptionConfiguration") or {}).get("type") == "CUSTOMER_MANAGED_KMS_KEY"
    ),
    "aws:sqs/queue:Queue": lambda r, d: bool(
        r.inputs.get("kmsMasterKeyId") or r.inputs.get("sqsManagedSseEnabled")
    ),
    "aws:glue/securityConfiguration:SecurityConfiguration": lambda r, d: all(
        "KMS" in mode
        for mode in (
            r.inputs["encryptionConfiguration"]["s3Encryption"]["s3EncryptionMode"],
            r.inputs["encryptionConfiguration"]["cloudwatchEncryption"]["cloudwatchEncryptionMode"],
            r.inputs["encryptionConfiguration"]["jobBookmarksEncryption"]["jobBookmarksEncryptionMode"],
        )
    ),
}
HOLDS_NO_DATA = {
    # Table definitions only, no records; encrypting the catalog is account-wide, so an opt-in
    # (manageCatalogEncryption, tests/infra/test_catalog_encryption.py).
    "aws:glue/catalogDatabase:CatalogDatabase",
    "aws:kms/key:Key",
    "aws:kms/alias:Alias",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policy:Policy",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:lambda/permission:Permission",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:scheduler/schedule:Schedule",
    "aws:scheduler/scheduleGroup:ScheduleGroup",
    "aws:athena/namedQuery:NamedQuery",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:cloudwatch/dashboard:Dashboard",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketNotification:BucketNotification",
}


def _encrypted_buckets(deployment) -> set[str]:
    encrypted = set()
    for config in deployment.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        (rule,) = config.inputs["rules"]
        if rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("aws:kms", "AES256"):
            encrypted.add(config.inputs["bucket"])
    return encrypted


def test_every_resource_that_stores_or_moves_data_is_encrypted(deployment):
    for resource in deployment.resources:
        if resource.type.startswith(("healthcare:", "pulumi:")) or resource.type in HOLDS_NO_DATA:
            continue
        assert resource.type in ENCRYPTION_CHECKS, f"classify {resource.type}: does it store or move data?"
        assert ENCRYPTION_CHECKS[resource.type](resource, deployment), (
            f"{resource.type} {resource.name} unencrypted"
        )


def test_policy_documents_match_their_golden_files(deployment):
    documents = {name: document for name, (_, document) in policy_documents(deployment).items()}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        for stale in GOLDEN.glob("*.json"):
            stale.unlink()
        for name, document in documents.items():
            (GOLDEN / f"{name}.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    golden = {path.stem: json.loads(path.read_text()) for path in GOLDEN.glob("*.json")}
    assert sorted(golden) == sorted(documents), "policy set changed: review, then rerun with UPDATE_GOLDEN=1"
    for name, document in documents.items():
        assert document == golden[name], f"{name} changed: review, then rerun with UPDATE_GOLDEN=1"


MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:hc-accred-dev-pipeline"
# Per role: the service that assumes it and the resources on whose behalf it may, as each service documents.
SOURCE_ARNS = {
    "hc-accred-dev-state-machine": ("states.amazonaws.com", [MACHINE_ARN]),
    "hc-accred-dev-raw-arrival": (
        "events.amazonaws.com",
        ["arn:aws:events:us-east-1:123456789012:rule/hc-accred-dev-raw-arrival"],
    ),
    "hc-accred-dev-schedule": (
        "scheduler.amazonaws.com",
        [
            "arn:aws:scheduler:us-east-1:123456789012:schedule-group/default",
            "arn:aws:scheduler:us-east-1:123456789012:schedule/default/hc-accred-dev-pipeline",
        ],
    ),
}


def test_orchestration_roles_trust_their_service_only_on_behalf_of_this_stack(deployment):
    """Confused-deputy prevention: Step Functions, EventBridge and EventBridge Scheduler supply
    aws:SourceAccount and aws:SourceArn when they assume a role, and document both keys in the trust
    policy (Scheduler: the schedule's or its schedule group's ARN). The Glue and Lambda roles stay
    unconditioned: neither service documents these keys for assuming an execution role.

    Sources: "Cross-service confused deputy prevention" in the AWS Step Functions Developer Guide,
    https://docs.aws.amazon.com/step-functions/latest/dg/cross-service-confused-deputy-prevention.html;
    the Amazon EventBridge User Guide,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html;
    the EventBridge Scheduler User Guide,
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
    and its "Troubleshooting" (scoping by the schedule ARN or the schedule group ARN),
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/troubleshooting.html
    """
    roles = {
        r.inputs["name"]: json.loads(r.inputs["assumeRolePolicy"])
        for r in deployment.of_type("aws:iam/role:Role")
    }
    for role, (service, source_arns) in SOURCE_ARNS.items():
        (trust,) = statements(roles[role])
        assert trust["Principal"] == {"Service": service}, role
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnEquals": {"aws:SourceArn": source_arns},
        }, role
    for role in ("hc-accred-dev-glue-job", "hc-accred-dev-crawler", "hc-accred-dev-notifier"):
        (trust,) = statements(roles[role])
        assert "Condition" not in trust, role
