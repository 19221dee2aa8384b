"""IAM and resource policy documents as plain dicts, built by pure functions from plain ARNs and names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

VERSION = "2012-10-17"
Document = dict
Statement = dict

# Everything the account (through IAM policies) may do with the data key, listed because a
# wildcard action would also grant whatever KMS adds tomorrow.
KEY_ACCOUNT_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
KEY_LOGS_ACTIONS = (
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
# What SNS needs from a publisher's key grant to encrypt a message for a KMS-encrypted topic.
KEY_TOPIC_PUBLISH_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
KEY_DATA_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")

# CloudWatch Logs vended delivery reads the execution data of a state machine encrypted with the key
# before writing it to the log group; Step Functions' role generates the data keys itself, so
# Decrypt is all this service needs (AWS Step Functions encryption-at-rest guidance).
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"
KEY_LOG_DELIVERY_ACTIONS = ("kms:Decrypt",)

# Services that publish to the status topic by resource policy (no role of ours involved).
ALARM_SERVICE = "cloudwatch.amazonaws.com"
EVENTS_SERVICE = "events.amazonaws.com"
TOPIC_SERVICE_PUBLISHERS = (ALARM_SERVICE, EVENTS_SERVICE)

# What the curation job calls to register its snapshot partition (glue_jobs/curation/catalog.py, GlueCatalog).
GLUE_JOB_CATALOG_ACTIONS = (
    "glue:BatchDeletePartition",
    "glue:CreatePartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:UpdatePartition",
)
# What Glue documents for a crawler role ("Crawler prerequisites"): this AWS managed policy for the Data
# Catalog, plus an inline policy for the data source and its key. A hand-picked subset of its catalog
# actions missed some a re-crawl needs (glue:BatchUpdatePartition, s3:GetBucketLocation).
CRAWLER_MANAGED_POLICY = "service-role/AWSGlueServiceRole"
GLUE_LOG_ACTIONS = (
    "logs:AssociateKmsKey",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
)


def document(*statements: Statement) -> Document:
    return {"Version": VERSION, "Statement": list(statements)}


def statement(
    sid: str,
    actions: Iterable[str],
    resources: str | Sequence[str],
    *,
    effect: str = "Allow",
    principal: dict | str | None = None,
    condition: dict | None = None,
) -> Statement:
    result: Statement = {"Sid": sid, "Effect": effect}
    if principal is not None:
        result["Principal"] = principal
    result["Action"] = sorted(actions)
    result["Resource"] = resources if isinstance(resources, str) else list(resources)
    if condition is not None:
        result["Condition"] = condition
    return result


def objects(bucket_arn: str, prefix: str = "") -> str:
    """ARN of every object under `prefix` in the bucket."""
    return f"{bucket_arn}/{prefix}*"


def assume_role_policy(service: str, condition: dict | None = None) -> Document:
    """Trust policy letting one AWS service principal assume a role (trust policies name no Resource)."""
    trust: Statement = {
        "Sid": "ServiceAssumesRole",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if condition is not None:
        trust["Condition"] = condition
    return document(trust)


def on_behalf_of(account_id: str, source_arns: Sequence[str]) -> dict:
    """Confused-deputy guard of a trust policy: the service assumes the role only for these resources of
    this account (for services that supply aws:SourceAccount and aws:SourceArn when assuming a role)."""
    return {
        "StringEquals": {"aws:SourceAccount": account_id},
        "ArnEquals": {"aws:SourceArn": list(source_arns)},
    }


def data_key_policy(*, partition: str, region: str, account_id: str) -> Document:
    """Key policy of the data-plane CMK.

    The account statement delegates to IAM, so the roles of the Glue job, the crawler, the Lambda and the
    state machine use the key through their own policies. Services that act without a role of ours get
    statements here: CloudWatch Logs (encrypted log groups), CloudWatch Logs vended delivery (the state
    machine's execution logs), CloudWatch alarms and EventBridge (publishing to the KMS-encrypted status
    topic). In a key policy `Resource: "*"` means this key.
    """
    return document(
        statement(
            "AccountAdministersAndUsesKeyThroughIam",
            KEY_ACCOUNT_ACTIONS,
            "*",
            principal={"AWS": f"arn:{partition}:iam::{account_id}:root"},
        ),
        statement(
            "CloudWatchLogsEncryptsLogGroupsOfThisAccount",
            KEY_LOGS_ACTIONS,
            "*",
            principal={"Service": f"logs.{region}.amazonaws.com"},
            condition={
                # The encryption-context key is string-typed, hence StringLike rather than ArnLike.
                "StringLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{partition}:logs:{region}:{account_id}:log-group:*"
                    )
                }
            },
        ),
        statement(
            "LogDeliveryDecryptsStateMachineDataOfThisAccount",
            KEY_LOG_DELIVERY_ACTIONS,
            "*",
            principal={"Service": LOG_DELIVERY_SERVICE},
            # AWS's documented form for vended log delivery: the delivery's encryption context names the
            # logs service of this account and region (this literal value, `*` included).
            condition={
                "StringEquals": {
                    "kms:EncryptionContext:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"
                }
            },
        ),
        statement(
            "AlarmsAndEventsPublishToEncryptedTopics",
            KEY_TOPIC_PUBLISH_ACTIONS,
            "*",
            principal={"Service": list(TOPIC_SERVICE_PUBLISHERS)},
        ),
    )


def deny_insecure_transport(bucket_arn: str) -> Statement:
    return statement(
        "DenyInsecureTransport",
        ["s3:*"],
        [bucket_arn, objects(bucket_arn)],
        effect="Deny",
        principal="*",
        condition={"Bool": {"aws:SecureTransport": "false"}},
    )


def bucket_policy(bucket_arn: str) -> Document:
    """Policy of every data bucket: TLS only (access comes from identity policies)."""
    return document(deny_insecure_transport(bucket_arn))


def access_log_bucket_policy(
    *, log_bucket_arn: str, source_bucket_arns: Sequence[str], account_id: str
) -> Document:
    """TLS only, plus S3 server access log delivery from this stack's buckets (ACLs are disabled)."""
    return document(
        deny_insecure_transport(log_bucket_arn),
        statement(
            "S3ServerAccessLogDelivery",
            ["s3:PutObject"],
            objects(log_bucket_arn),
            principal={"Service": "logging.s3.amazonaws.com"},
            condition={
                "ArnLike": {"aws:SourceArn": sorted(source_bucket_arns)},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        ),
    )


def topic_policy(*, topic_arn: str, account_id: str, service_publishers: Sequence[str] = ()) -> Document:
    """TLS-only publishing; listed services (alarms, EventBridge) may publish on behalf of this account."""
    statements = [
        statement(
            "DenyInsecurePublish",
            ["sns:Publish"],
            topic_arn,
            effect="Deny",
            principal="*",
            condition={"Bool": {"aws:SecureTransport": "false"}},
        )
    ]
    if service_publishers:
        statements.append(
            statement(
                "ServicesOfThisAccountPublish",
                ["sns:Publish"],
                topic_arn,
                principal={"Service": sorted(service_publishers)},
                condition={"StringEquals": {"aws:SourceAccount": account_id}},
            )
        )
    return document(*statements)


def _catalog_resources(partition: str, region: str, account_id: str, database: str) -> list[str]:
    prefix = f"arn:{partition}:glue:{region}:{account_id}"
    return [f"{prefix}:catalog", f"{prefix}:database/{database}", f"{prefix}:table/{database}/*"]


def _glue_logs_resource(partition: str, region: str, account_id: str) -> str:
    # Glue derives log group names from the role and security configuration (/aws-glue/jobs/...,
    # /aws-glue/crawlers-role/...), so the grant covers the /aws-glue/ namespace of this account.
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:/aws-glue/*"


def _glue_metrics_statement() -> Statement:
    # PutMetricData has no resource type; the namespace condition is its only scope.
    return statement(
        "PublishGlueMetrics",
        ["cloudwatch:PutMetricData"],
        "*",
        condition={"StringEquals": {"cloudwatch:namespace": "Glue"}},
    )


def glue_job_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    raw_bucket_arn: str,
    curated_bucket_arn: str,
    quarantine_bucket_arn: str,
    code_object_arns: Sequence[str],
    database: str,
    kms_key_arn: str,
) -> Document:
    """The curation job: read raw and its code (script and package), write curated and quarantine, register
    partitions."""
    return document(
        statement(
            "ListZones", ["s3:ListBucket"], [raw_bucket_arn, curated_bucket_arn, quarantine_bucket_arn]
        ),
        statement("ReadRaw", ["s3:GetObject"], objects(raw_bucket_arn)),
        statement("ReadJobCode", ["s3:GetObject"], code_object_arns),
        statement(
            "WriteCuratedAndQuarantine",
            ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            [objects(curated_bucket_arn), objects(quarantine_bucket_arn)],
        ),
        statement(
            "RegisterPartitions",
            GLUE_JOB_CATALOG_ACTIONS,
            _catalog_resources(partition, region, account_id, database),
        ),
        statement("UseDataKey", KEY_DATA_ACTIONS, kms_key_arn),
        statement("WriteEncryptedLogs", GLUE_LOG_ACTIONS, _glue_logs_resource(partition, region, account_id)),
        _glue_metrics_statement(),
    )


def aws_managed_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


def crawler_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    curated_bucket_arn: str,
    table_prefixes: Sequence[str],
    kms_key_arn: str,
) -> Document:
    """The crawler's inline policy: this stack's curated table roots and key, and its encrypted logs (the
    catalog comes from CRAWLER_MANAGED_POLICY, which grants no logs:AssociateKmsKey)."""
    return document(
        statement("ListCurated", ["s3:ListBucket"], curated_bucket_arn),
        statement(
            "ReadTableRoots",
            ["s3:GetObject"],
            [objects(curated_bucket_arn, prefix) for prefix in table_prefixes],
        ),
        statement("UseDataKey", KEY_DATA_ACTIONS, kms_key_arn),
        statement("WriteEncryptedLogs", GLUE_LOG_ACTIONS, _glue_logs_resource(partition, region, account_id)),
    )


# Production folders are named as_of=YYYY-MM-DD/; the notifier and the run report look back through them.
AS_OF_FOLDERS = "as_of="
PUBLISHED_ALERTS = "accreditation_alerts.csv"


def notifier_policy(
    *,
    alert_topic_arns: Sequence[str],
    idempotency_table_arn: str,
    athena_results_bucket_arn: str,
    production_bucket_arn: str,
    stage_results_prefix: str,
    alerts_prefix: str,
    log_group_arn: str,
    kms_key_arn: str,
) -> Document:
    """The notifier Lambda: read stage results and the previous run's published alerts, write the alerts
    CSVs, publish, keep idempotency records."""
    return document(
        # Finding the previous run: list the as_of= folders, read one published alerts CSV. The second
        # prefix lets S3 answer a run folder without that file with 404 (then it looks further back).
        statement(
            "ListPublishedRuns",
            ["s3:ListBucket"],
            production_bucket_arn,
            condition={"StringLike": {"s3:prefix": [AS_OF_FOLDERS, f"{AS_OF_FOLDERS}*/{PUBLISHED_ALERTS}"]}},
        ),
        statement(
            "ReadPublishedAlerts",
            ["s3:GetObject"],
            f"{production_bucket_arn}/{AS_OF_FOLDERS}*/{PUBLISHED_ALERTS}",
        ),
        statement("PublishAlerts", ["sns:Publish"], sorted(alert_topic_arns)),
        statement(
            "IdempotencyRecords",
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            idempotency_table_arn,
        ),
        # S3 answers a GetObject of a missing key with 404 only to a caller allowed to list it (else 403,
        # which the notifier cannot tell from a denied read); S3 checks the key as s3:prefix.
        statement(
            "ListStageResults",
            ["s3:ListBucket"],
            athena_results_bucket_arn,
            condition={"StringLike": {"s3:prefix": [f"{stage_results_prefix}*"]}},
        ),
        statement("ReadStageResults", ["s3:GetObject"], objects(athena_results_bucket_arn)),
        statement("WriteAlertsCsv", ["s3:PutObject"], objects(athena_results_bucket_arn, alerts_prefix)),
        statement("UseDataKey", KEY_DATA_ACTIONS, kms_key_arn),
        statement(
            "WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], f"{log_group_arn}:log-stream:*"
        ),
        # X-Ray segment APIs have no resource type.
        statement("WriteTraces", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*"),
    )


def run_report_policy(
    *,
    production_bucket_arn: str,
    curated_bucket_arn: str,
    report_files: Sequence[str],
    latest_prefix: str,
    reports_prefix: str,
    log_group_arn: str,
    kms_key_arn: str,
) -> Document:
    """The run report Lambda: read a run's published results, earlier runs' report data and the curation
    report; write report.html and report_data.json to the run's folder and to latest/."""
    written = [
        f"{production_bucket_arn}/{folder}{name}"
        for folder in (f"{AS_OF_FOLDERS}*/", latest_prefix)
        for name in report_files
    ]
    return document(
        # Listing lets S3 answer a missing object with 404 (an earlier run without report data) not 403.
        statement(
            "ListPublishedRuns",
            ["s3:ListBucket"],
            production_bucket_arn,
            condition={"StringLike": {"s3:prefix": [f"{AS_OF_FOLDERS}*"]}},
        ),
        statement("ReadPublishedRuns", ["s3:GetObject"], objects(production_bucket_arn, AS_OF_FOLDERS)),
        statement(
            "ListCurationReports",
            ["s3:ListBucket"],
            curated_bucket_arn,
            condition={"StringLike": {"s3:prefix": [f"{reports_prefix}*"]}},
        ),
        statement("ReadCurationReports", ["s3:GetObject"], objects(curated_bucket_arn, reports_prefix)),
        statement("WriteReports", ["s3:PutObject"], sorted(written)),
        statement("UseDataKey", KEY_DATA_ACTIONS, kms_key_arn),
        statement(
            "WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], f"{log_group_arn}:log-stream:*"
        ),
        # X-Ray segment APIs have no resource type.
        statement("WriteTraces", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*"),
    )
