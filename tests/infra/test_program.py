"""The real Pulumi program under mocks with Pulumi.dev.yaml: inventory, security, names, outputs."""

from __future__ import annotations

import base64
import json
import re

import pytest
from program_mocks import ACCOUNT_ID, DEV_CONTEXT, ROOT, run_main, run_program

from infra.config import TOPICS
from infra.etl import package_archive
from infra.monitoring import Monitoring, MonitoringArgs
from infra.notifications import VENDORED_MODULES
from infra.orchestration import SCHEDULED_INPUT
from pipeline import layout
from pipeline.sql_files import load_sql
from pipeline.stages import QUERY_STAGES

BUCKET = "aws:s3/bucket:Bucket"
DATA_BUCKETS = (*layout.ZONES, "artifacts")
ALL_BUCKETS = (*DATA_BUCKETS, "access-logs")
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
MACHINE_ARN = f"arn:aws:states:us-east-1:{ACCOUNT_ID}:stateMachine:hc-accred-dev-pipeline"
MACHINE_LOG_GROUP = "/aws/vendedlogs/states/hc-accred-dev-pipeline"
STATUS_TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:hc-accred-dev-pipeline-status"
# Rules whose only job is to forward a failure to the status topic (monitoring).
FAILURE_RULES = ("hc-accred-dev-glue-job-failed", "hc-accred-dev-crawler-failed")
# The rule that starts the pipeline when a file lands in the raw bucket (orchestration).
RAW_ARRIVAL_RULE = "hc-accred-dev-raw-arrival"


def bucket_name(zone: str, stack: str = "dev") -> str:
    return f"hc-accred-{stack}-{zone}-{ACCOUNT_ID}"


def per_bucket(deployment, type_: str) -> dict[str, dict]:
    """The inputs of one resource type keyed by the bucket it configures (exactly one per bucket)."""
    found: dict[str, dict] = {}
    for resource in deployment.of_type(type_):
        assert resource.inputs["bucket"] not in found, f"two {type_} on {resource.inputs['bucket']}"
        found[resource.inputs["bucket"]] = resource.inputs
    return found


def test_inventory(deployment):
    counts = {
        BUCKET: len(ALL_BUCKETS),
        "aws:kms/key:Key": 1,
        "aws:glue/catalogDatabase:CatalogDatabase": 1,
        "aws:glue/securityConfiguration:SecurityConfiguration": 1,
        # Catalog encryption is account-wide and an opt-in (test_catalog_encryption.py).
        "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings": 0,
        "aws:glue/job:Job": 1,
        "aws:glue/crawler:Crawler": 1,
        "aws:athena/workgroup:Workgroup": 1,
        "aws:athena/namedQuery:NamedQuery": len(QUERY_STAGES),
        "aws:dynamodb/table:Table": 1,
        "aws:sns/topic:Topic": len(TOPICS),
        "aws:sns/topicPolicy:TopicPolicy": len(TOPICS),
        # Glue job, crawler, notifier, run report, state machine, raw-arrival rule, schedule: one role each.
        "aws:iam/role:Role": 7,
        "aws:iam/rolePolicy:RolePolicy": 7,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 1,
        "aws:cloudwatch/dashboard:Dashboard": 1,
        "aws:s3/bucketNotification:BucketNotification": 1,
        "aws:sfn/stateMachine:StateMachine": 1,
        "aws:scheduler/schedule:Schedule": 1,
        "aws:cloudwatch/eventRule:EventRule": len(FAILURE_RULES) + 1,
        "aws:cloudwatch/eventTarget:EventTarget": len(FAILURE_RULES) + 1,
        "aws:cloudwatch/logGroup:LogGroup": 6,
        "aws:lambda/function:Function": 2,  # the notifier and the run report
    }
    for type_, count in counts.items():
        assert len(deployment.of_type(type_)) == count, type_
    assert {r.inputs["bucket"] for r in deployment.of_type(BUCKET)} == {bucket_name(z) for z in ALL_BUCKETS}
    components = {r.type for r in deployment.resources if r.type.startswith("healthcare:index:")}
    assert components == {
        f"healthcare:index:{c}"
        for c in ("Storage", "Catalog", "Etl", "Notifications", "Reporting", "Orchestration", "Monitoring")
    }


def test_physical_names_are_lowercase_and_include_the_stack(deployment):
    named = {
        "aws:glue/catalogDatabase:CatalogDatabase": "hc_accred_dev",
        "aws:athena/workgroup:Workgroup": "hc-accred-dev",
        "aws:glue/job:Job": "hc-accred-dev-curate-facilities",
        "aws:glue/crawler:Crawler": "hc-accred-dev-curated",
        "aws:lambda/function:Function": ["hc-accred-dev-notifier", "hc-accred-dev-run-report"],
        "aws:dynamodb/table:Table": "hc-accred-dev-notifier-idempotency",
        "aws:sfn/stateMachine:StateMachine": "hc-accred-dev-pipeline",
        "aws:scheduler/schedule:Schedule": "hc-accred-dev-pipeline",
    }
    for type_, name in named.items():
        expected = [name] if isinstance(name, str) else name
        assert sorted(r.inputs["name"] for r in deployment.of_type(type_)) == expected
    for type_ in (
        "aws:sns/topic:Topic",
        "aws:iam/role:Role",
        "aws:athena/namedQuery:NamedQuery",
        "aws:cloudwatch/eventRule:EventRule",
    ):
        for resource in deployment.of_type(type_):
            assert resource.inputs["name"].startswith("hc-accred-dev-"), resource.inputs["name"]
    for resource in deployment.of_type(BUCKET):
        assert resource.inputs["bucket"] == resource.inputs["bucket"].lower()
        assert "-dev-" in resource.inputs["bucket"] and len(resource.inputs["bucket"]) <= 63


def test_prod_stack_differs_only_by_config(dev_config):
    prod = run_main(dev_config, stack="prod")
    assert prod.outputs["glue_database"] == "hc_accred_prod"
    assert prod.outputs["athena_workgroup"] == "hc-accred-prod"
    assert prod.outputs["raw_bucket"] == bucket_name(layout.RAW, "prod")
    names = [r.inputs.get("name", "") for r in prod.resources] + [
        r.inputs.get("bucket", "") for r in prod.of_type(BUCKET)
    ]
    assert not [name for name in names if "-dev-" in str(name) or "_dev" in str(name)]


def test_every_bucket_has_default_encryption_with_the_cmk(deployment):
    encryption = per_bucket(
        deployment, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert set(encryption) == {bucket_name(z) for z in ALL_BUCKETS}
    for zone in DATA_BUCKETS:
        (rule,) = encryption[bucket_name(zone)]["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": KEY_ARN,
        }
        assert rule["bucketKeyEnabled"] is True
    # S3 delivers server access logs only to SSE-S3 buckets.
    (rule,) = encryption[bucket_name("access-logs")]["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


def test_every_bucket_blocks_public_access_and_enforces_owner(deployment):
    blocks = per_bucket(deployment, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    ownership = per_bucket(deployment, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    for zone in ALL_BUCKETS:
        block = blocks[bucket_name(zone)]
        for setting in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
            assert block[setting] is True, (zone, setting)
        assert ownership[bucket_name(zone)]["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_every_bucket_policy_denies_insecure_transport(deployment):
    bucket_policies = per_bucket(deployment, "aws:s3/bucketPolicy:BucketPolicy")
    assert set(bucket_policies) == {bucket_name(z) for z in ALL_BUCKETS}
    for name, inputs in bucket_policies.items():
        document = json.loads(inputs["policy"])
        deny = [s for s in document["Statement"] if s["Effect"] == "Deny"]
        assert deny == [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:*"],
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]


def test_buckets_whose_data_must_not_be_lost_are_versioned(deployment):
    versioning = per_bucket(deployment, "aws:s3/bucketVersioning:BucketVersioning")
    expected = {bucket_name(z) for z in (layout.RAW, layout.CURATED, layout.PRODUCTION, "artifacts")}
    assert set(versioning) == expected
    assert all(v["versioningConfiguration"] == {"status": "Enabled"} for v in versioning.values())


def test_lifecycle_rules_follow_the_retention_config(deployment, dev_config):
    def days(key: str) -> int:
        return int(dev_config[f"healthcare-accreditation:{key}"])

    lifecycles = {
        name: inputs["rules"]
        for name, inputs in per_bucket(
            deployment, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        ).items()
    }
    assert set(lifecycles) == {bucket_name(z) for z in ALL_BUCKETS}
    for rules in lifecycles.values():
        assert any(r.get("abortIncompleteMultipartUpload") for r in rules)

    def whole_bucket_expiry(zone: str) -> int:
        (rule,) = [r for r in lifecycles[bucket_name(zone)] if "expiration" in r]
        assert rule["filter"] == {"prefix": ""} and rule["status"] == "Enabled"
        return rule["expiration"]["days"]

    assert whole_bucket_expiry(layout.QUARANTINE) == days("quarantineRetentionDays")
    assert whole_bucket_expiry(layout.ATHENA_RESULTS) == days("athenaResultsRetentionDays")
    assert whole_bucket_expiry("access-logs") == days("accessLogRetentionDays")
    snapshots = {
        r["filter"]["prefix"]: r for r in lifecycles[bucket_name(layout.CURATED)] if "transitions" in r
    }
    assert set(snapshots) == {"facilities/", "data_quality_issues/"}
    for rule in snapshots.values():
        assert rule["transitions"] == [
            {"days": days("snapshotTransitionDays"), "storageClass": "STANDARD_IA"}
        ]
        assert rule["expiration"] == {"days": days("snapshotExpiryDays")}
    for zone in (layout.RAW, layout.CURATED, layout.PRODUCTION, "artifacts"):
        (rule,) = [r for r in lifecycles[bucket_name(zone)] if "noncurrentVersionExpiration" in r]
        assert rule["noncurrentVersionExpiration"] == {
            "noncurrentDays": days("noncurrentVersionRetentionDays")
        }
    for zone in (layout.RAW, layout.PRODUCTION, "artifacts"):
        assert not [r for r in lifecycles[bucket_name(zone)] if "expiration" in r], (
            f"{zone} must keep current data"
        )


def test_data_buckets_log_access_to_the_access_log_bucket(deployment):
    logging = per_bucket(deployment, "aws:s3/bucketLogging:BucketLogging")
    assert set(logging) == {bucket_name(z) for z in DATA_BUCKETS}
    for zone in DATA_BUCKETS:
        assert logging[bucket_name(zone)]["targetBucket"] == bucket_name("access-logs")
        assert logging[bucket_name(zone)]["targetPrefix"] == f"{zone}/"
    policy = json.loads(
        per_bucket(deployment, "aws:s3/bucketPolicy:BucketPolicy")[bucket_name("access-logs")]["policy"]
    )
    (delivery,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert sorted(delivery["Condition"]["ArnLike"]["aws:SourceArn"]) == sorted(
        f"arn:aws:s3:::{bucket_name(z)}" for z in DATA_BUCKETS
    )


def test_raw_bucket_sends_events_to_eventbridge(deployment):
    (notification,) = deployment.of_type("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs == {"bucket": bucket_name(layout.RAW), "eventbridge": True}


def test_kms_key_rotates_and_lets_the_publishing_services_use_it(deployment):
    (key,) = deployment.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["AccountAdministersAndUsesKeyThroughIam"]["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"
    }
    assert statements["CloudWatchLogsEncryptsLogGroupsOfThisAccount"]["Principal"] == {
        "Service": "logs.us-east-1.amazonaws.com"
    }
    publishers = statements["AlarmsAndEventsPublishToEncryptedTopics"]
    assert set(publishers["Principal"]["Service"]) == {"cloudwatch.amazonaws.com", "events.amazonaws.com"}
    assert publishers["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_topics_are_encrypted_tls_only_and_status_accepts_alarms_and_events(deployment):
    topics = {r.inputs["name"]: r.inputs for r in deployment.of_type("aws:sns/topic:Topic")}
    assert set(topics) == {
        "hc-accred-dev-critical-alerts",
        "hc-accred-dev-high-alerts",
        "hc-accred-dev-medium-alerts",
        "hc-accred-dev-pipeline-status",
    }
    assert all(t["kmsMasterKeyId"] == KEY_ARN for t in topics.values())
    for topic_policy in deployment.of_type("aws:sns/topicPolicy:TopicPolicy"):
        statements = json.loads(topic_policy.inputs["policy"])["Statement"]
        assert statements[0]["Effect"] == "Deny"
        assert statements[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        allowed = {s for st in statements[1:] for s in st["Principal"]["Service"]}
        expected = (
            {"cloudwatch.amazonaws.com", "events.amazonaws.com"}
            if "status" in topic_policy.inputs["arn"]
            else set()
        )
        assert allowed == expected


def test_email_subscriptions_and_filter_policies_follow_the_config(deployment, dev_config):
    subscriptions = {
        (r.inputs["topic"].rsplit(":", 1)[1], r.inputs["endpoint"]): r.inputs.get("filterPolicy")
        for r in deployment.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    alert_emails = json.loads(dev_config["healthcare-accreditation:alertEmails"])
    state_emails = json.loads(dev_config["healthcare-accreditation:stateAlertEmails"])
    expected = {}
    for topic, emails in alert_emails.items():
        topic_name = "hc-accred-dev-pipeline-status" if topic == "status" else f"hc-accred-dev-{topic}-alerts"
        for email in emails:
            expected[(topic_name, email)] = None if topic == "status" else json.dumps({"scope": ["all"]})
    for state, tiers in state_emails.items():
        for tier, emails in tiers.items():
            for email in emails:
                expected[(f"hc-accred-dev-{tier}-alerts", email)] = json.dumps(
                    {"scope": ["state"], "state": [state]}
                )
    assert subscriptions == expected
    assert all(
        r.inputs["protocol"] == "email"
        for r in deployment.of_type("aws:sns/topicSubscription:TopicSubscription")
    )


def test_idempotency_table(deployment):
    (table,) = deployment.of_type("aws:dynamodb/table:Table")
    assert table.inputs["hashKey"] == "id"
    assert table.inputs["attributes"] == [{"name": "id", "type": "S"}]
    assert table.inputs["ttl"] == {"attributeName": "expiration", "enabled": True}
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KEY_ARN}
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"


def test_log_groups_have_retention_and_the_cmk(deployment, dev_config):
    groups = {r.inputs["name"]: r.inputs for r in deployment.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {
        "/aws/lambda/hc-accred-dev-notifier",
        "/aws/lambda/hc-accred-dev-run-report",
        "/aws-glue/jobs/hc-accred-dev-curate-facilities/hc-accred-dev-glue-role/hc-accred-dev-glue-job/error",
        "/aws-glue/jobs/hc-accred-dev-curate-facilities/hc-accred-dev-glue-role/hc-accred-dev-glue-job/output",
        "/aws-glue/crawlers-role/hc-accred-dev-crawler-hc-accred-dev-glue",
        MACHINE_LOG_GROUP,
    }
    for group in groups.values():
        assert group["retentionInDays"] == int(dev_config["healthcare-accreditation:logRetentionDays"])
        assert group["kmsKeyId"] == KEY_ARN


def test_glue_security_configuration(deployment):
    (security,) = deployment.of_type("aws:glue/securityConfiguration:SecurityConfiguration")
    assert security.inputs["encryptionConfiguration"] == {
        "s3Encryption": {"s3EncryptionMode": "SSE-KMS", "kmsKeyArn": KEY_ARN},
        "cloudwatchEncryption": {"cloudwatchEncryptionMode": "SSE-KMS", "kmsKeyArn": KEY_ARN},
        "jobBookmarksEncryption": {"jobBookmarksEncryptionMode": "CSE-KMS", "kmsKeyArn": KEY_ARN},
    }


def test_glue_job(deployment, dev_config):
    (job,) = deployment.of_type("aws:glue/job:Job")
    inputs = job.inputs
    assert inputs["glueVersion"] == "5.1"
    assert inputs["command"] == {
        "name": "glueetl",
        "pythonVersion": "3",
        "scriptLocation": f"s3://{bucket_name('artifacts')}/glue_jobs/curate_facilities.py",
    }
    assert inputs["workerType"] == dev_config["healthcare-accreditation:glueWorkerType"]
    assert inputs["numberOfWorkers"] == int(dev_config["healthcare-accreditation:glueNumberOfWorkers"])
    assert inputs["executionClass"] == "FLEX"
    assert inputs["timeout"] == int(dev_config["healthcare-accreditation:glueTimeoutMinutes"])
    assert inputs["maxRetries"] == 0
    assert inputs["executionProperty"] == {"maxConcurrentRuns": 1}
    assert inputs["securityConfiguration"] == "hc-accred-dev-glue"
    assert inputs["defaultArguments"] == {
        "--extra-py-files": f"s3://{bucket_name('artifacts')}/glue_jobs/curation.zip",
        "--raw_location": f"s3://{bucket_name(layout.RAW)}/",
        "--curated_location": f"s3://{bucket_name(layout.CURATED)}/",
        "--quarantine_location": f"s3://{bucket_name(layout.QUARANTINE)}/",
        "--as_of": "today",
        "--run_id": "manual",
        "--max_rejected_ratio": "0.05",
        "--database": "hc_accred_dev",
        "--rebuild": "false",
        "--metrics_namespace": "HealthcareAccreditation",
        "--metrics_stack": "hc-accred-dev",
        "--job-language": "python",
        "--enable-metrics": "true",
        "--enable-observability-metrics": "true",
        "--custom-logGroup-prefix": "/aws-glue/jobs/hc-accred-dev-curate-facilities",
        "--job-bookmark-option": "job-bookmark-disable",
    }
    objects = {o.inputs["key"]: o.inputs for o in deployment.of_type("aws:s3/bucketObject:BucketObject")}
    assert set(objects) == {"glue_jobs/curate_facilities.py", "glue_jobs/curation.zip"}
    script, package = objects["glue_jobs/curate_facilities.py"], objects["glue_jobs/curation.zip"]
    assert script["source"].path == str(ROOT / "glue_jobs" / "curate_facilities.py")
    assert base64.b64decode(package["contentBase64"]) == package_archive(ROOT)
    for uploaded in (script, package):
        assert uploaded["bucket"] == bucket_name("artifacts")
        assert uploaded["serverSideEncryption"] == "aws:kms" and uploaded["kmsKeyId"] == KEY_ARN


def test_glue_job_logs_reach_precreated_groups_with_the_key_and_the_retention(deployment, dev_config):
    """Glue 5 writes to `<prefix>/error` and `<prefix>/output`, under a CloudWatch-encrypting security
    configuration `<prefix>/<security configuration>-role/<role>/error|output`; those groups, and only
    those, exist before the first run, with the stack's key and retention (Glue would create them with
    neither and keep the logs forever). The Glue 4 options (--enable-continuous-cloudwatch-log,
    --continuous-log-logGroup) are gone: on Glue 5 they left the stack's group empty.

    Sources: "Logging for AWS Glue jobs", https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html
    (Glue 5.0 behaviour, --custom-logGroup-prefix, and "Security configuration with Amazon CloudWatch
    logging": `<custom-log-group-prefix>/<security configuration>-role/<job role>/error|output`,
    logs:AssociateKmsKey); "Enabling continuous logging for AWS Glue 4.0 and
    earlier jobs", https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging-enable.html;
    "AWS Glue job parameters", https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html
    """
    (job,) = deployment.of_type("aws:glue/job:Job")
    arguments = job.inputs["defaultArguments"]
    prefix = "/aws-glue/jobs/hc-accred-dev-curate-facilities"
    assert arguments["--custom-logGroup-prefix"] == prefix
    assert not {"--enable-continuous-cloudwatch-log", "--continuous-log-logGroup"} & set(arguments)
    groups = {r.inputs["name"]: r.inputs for r in deployment.of_type("aws:cloudwatch/logGroup:LogGroup")}
    glue_job_groups = {name for name in groups if name.startswith("/aws-glue/jobs/")}
    assert glue_job_groups == {
        f"{prefix}/hc-accred-dev-glue-role/hc-accred-dev-glue-job/error",
        f"{prefix}/hc-accred-dev-glue-role/hc-accred-dev-glue-job/output",
    }
    for name in glue_job_groups:
        assert groups[name]["kmsKeyId"] == KEY_ARN
        assert groups[name]["retentionInDays"] == int(dev_config["healthcare-accreditation:logRetentionDays"])
    assert job.inputs["securityConfiguration"] == "hc-accred-dev-glue"
    assert job.inputs["roleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/hc-accred-dev-glue-job"


def test_glue_job_bookmarks_are_disabled_explicitly(deployment):
    """The job keeps its own watermark; bookmarks are said to be off rather than left to the default.

    Source: "AWS Glue job parameters" (--job-bookmark-option: job-bookmark-enable | job-bookmark-disable |
    job-bookmark-pause), https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html
    """
    (job,) = deployment.of_type("aws:glue/job:Job")
    assert job.inputs["defaultArguments"]["--job-bookmark-option"] == "job-bookmark-disable"


def test_crawler(deployment):
    (crawler,) = deployment.of_type("aws:glue/crawler:Crawler")
    inputs = crawler.inputs
    assert inputs["s3Targets"] == [
        {"path": f"s3://{bucket_name(layout.CURATED)}/facilities/"},
        {"path": f"s3://{bucket_name(layout.CURATED)}/data_quality_issues/"},
    ]
    assert inputs["databaseName"] == "hc_accred_dev"
    assert inputs["securityConfiguration"] == "hc-accred-dev-glue"
    assert inputs["role"] == f"arn:aws:iam::{ACCOUNT_ID}:role/hc-accred-dev-crawler"
    assert inputs["schemaChangePolicy"] == {"updateBehavior": "UPDATE_IN_DATABASE", "deleteBehavior": "LOG"}
    assert inputs["recrawlPolicy"] == {"recrawlBehavior": "CRAWL_EVERYTHING"}
    configuration = json.loads(inputs["configuration"])
    assert configuration["CrawlerOutput"]["Partitions"] == {"AddOrUpdateBehavior": "InheritFromTable"}


def test_athena_workgroup_and_named_queries(deployment, dev_config):
    (workgroup,) = deployment.of_type("aws:athena/workgroup:Workgroup")
    configuration = workgroup.inputs["configuration"]
    assert configuration["enforceWorkgroupConfiguration"] is True
    assert configuration["publishCloudwatchMetricsEnabled"] is True
    assert configuration["bytesScannedCutoffPerQuery"] == int(
        dev_config["healthcare-accreditation:athenaBytesScannedCutoff"]
    )
    assert configuration["engineVersion"] == {"selectedEngineVersion": "Athena engine version 3"}
    assert configuration["resultConfiguration"] == {
        "outputLocation": f"s3://{bucket_name(layout.ATHENA_RESULTS)}/queries/",
        "encryptionConfiguration": {"encryptionOption": "SSE_KMS", "kmsKeyArn": KEY_ARN},
    }
    queries = {r.inputs["name"]: r.inputs for r in deployment.of_type("aws:athena/namedQuery:NamedQuery")}
    for stage in QUERY_STAGES:
        query = queries[f"hc-accred-dev-{stage.name}"]
        assert query["query"] == load_sql(stage.sql_file)
        assert query["workgroup"] == "hc-accred-dev" and query["database"] == "hc_accred_dev"


def lambda_function(deployment, name: str):
    (function,) = [f for f in deployment.of_type("aws:lambda/function:Function") if f.inputs["name"] == name]
    return function


def test_notifier_lambda(deployment, dev_config):
    function = lambda_function(deployment, "hc-accred-dev-notifier")
    inputs = function.inputs
    assert inputs["runtime"] == "python3.12"
    assert inputs["handler"] == "accreditation_notifier.handler.lambda_handler"
    assert inputs["memorySize"] == int(dev_config["healthcare-accreditation:notifierMemoryMb"])
    assert inputs["timeout"] == int(dev_config["healthcare-accreditation:notifierTimeoutSeconds"])
    assert inputs["tracingConfig"] == {"mode": "Active"}
    assert inputs["kmsKeyArn"] == KEY_ARN
    assert inputs["loggingConfig"]["logGroup"] == "/aws/lambda/hc-accred-dev-notifier"
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:hc-accred-dev"
    assert inputs["environment"]["variables"] == {
        "CRITICAL_TOPIC_ARN": f"{topic}-critical-alerts",
        "HIGH_TOPIC_ARN": f"{topic}-high-alerts",
        "MEDIUM_TOPIC_ARN": f"{topic}-medium-alerts",
        "IDEMPOTENCY_TABLE": "hc-accred-dev-notifier-idempotency",
        "CRITICAL_MAX_DAYS": dev_config["healthcare-accreditation:criticalMaxDays"],
        "HIGH_MAX_DAYS": dev_config["healthcare-accreditation:highMaxDays"],
        "MEDIUM_MAX_DAYS": dev_config["healthcare-accreditation:mediumMaxDays"],
        "STATE_DIGEST_STATES": ",".join(
            sorted(json.loads(dev_config["healthcare-accreditation:stateAlertEmails"]))
        ),
        "SEND_UNCHANGED_DIGESTS": "true",
        "POWERTOOLS_SERVICE_NAME": "accreditation-notifier",
        "POWERTOOLS_LOG_LEVEL": dev_config["healthcare-accreditation:notifierLogLevel"],
        "POWERTOOLS_METRICS_NAMESPACE": "HealthcareAccreditation",
        "METRICS_STACK": "hc-accred-dev",
    }
    entries = inputs["code"].assets
    assert entries["accreditation_notifier"].path == str(ROOT / "lambda" / "accreditation_notifier")
    for module in VENDORED_MODULES:
        assert module in entries or f"{module}.py" in entries



def test_run_report_lambda_shares_the_notifiers_package_and_tiers(deployment, dev_config):
    function = lambda_function(deployment, "hc-accred-dev-run-report")
    inputs = function.inputs
    assert inputs["handler"] == "accreditation_report.handler.lambda_handler"
    assert inputs["architectures"] == ["arm64"] and inputs["runtime"] == "python3.12"
    assert inputs["tracingConfig"] == {"mode": "Active"} and inputs["kmsKeyArn"] == KEY_ARN
    assert inputs["loggingConfig"]["logGroup"] == "/aws/lambda/hc-accred-dev-run-report"
    assert inputs["environment"]["variables"] == {
        "CRITICAL_MAX_DAYS": dev_config["healthcare-accreditation:criticalMaxDays"],
        "HIGH_MAX_DAYS": dev_config["healthcare-accreditation:highMaxDays"],
        "MEDIUM_MAX_DAYS": dev_config["healthcare-accreditation:mediumMaxDays"],
        "EXPIRING_WINDOW_MONTHS": dev_config["healthcare-accreditation:expiringWindowMonths"],
        "POWERTOOLS_SERVICE_NAME": "accreditation-run-report",
        "POWERTOOLS_LOG_LEVEL": dev_config["healthcare-accreditation:notifierLogLevel"],
    }
    assert inputs["code"].assets["accreditation_report"].path == str(ROOT / "lambda" / "accreditation_report")

def test_vendored_modules_are_the_lambda_requirements_and_their_required_dependencies():
    from importlib.metadata import requires

    def module_name(requirement: str) -> str:
        return re.split(r"[;<>=!~ \[]", requirement, maxsplit=1)[0].strip().replace("-", "_").lower()

    lines = (ROOT / "lambda" / "requirements.txt").read_text().splitlines()
    pending = [module_name(line) for line in lines if line.strip() and not line.startswith("#")]
    closure: set[str] = set()
    while pending:
        module = pending.pop()
        if module not in closure:
            closure.add(module)
            pending += [module_name(r) for r in requires(module) or () if "extra ==" not in r]
    assert set(VENDORED_MODULES) == closure


def event_rules(deployment) -> dict[str, dict]:
    return {
        r.inputs["name"]: json.loads(r.inputs["eventPattern"])
        for r in deployment.of_type("aws:cloudwatch/eventRule:EventRule")
    }


def event_targets(deployment) -> dict[str, dict]:
    """Target inputs by rule name (each rule has exactly one target)."""
    targets: dict[str, dict] = {}
    for target in deployment.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        assert target.inputs["rule"] not in targets, f"two targets on {target.inputs['rule']}"
        targets[target.inputs["rule"]] = target.inputs
    return targets


def test_failures_reach_the_status_topic(deployment):
    rules = event_rules(deployment)
    assert set(rules) == {*FAILURE_RULES, RAW_ARRIVAL_RULE}
    assert rules["hc-accred-dev-glue-job-failed"]["detail"]["jobName"] == ["hc-accred-dev-curate-facilities"]
    assert "FAILED" in rules["hc-accred-dev-glue-job-failed"]["detail"]["state"]
    assert rules["hc-accred-dev-crawler-failed"]["detail"]["crawlerName"] == ["hc-accred-dev-curated"]
    targets = event_targets(deployment)
    assert set(targets) == set(rules)
    # Failure rules publish to the status topic through its resource policy, with no role.
    for name in FAILURE_RULES:
        assert targets[name]["arn"] == STATUS_TOPIC_ARN, name
        assert "roleArn" not in targets[name], name
    # The raw-arrival rule is no failure path: it starts the pipeline, never notifies.
    assert targets[RAW_ARRIVAL_RULE]["arn"] == MACHINE_ARN
    alarms = {
        r.inputs["name"]: r.inputs for r in deployment.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert {"hc-accred-dev-notifier-errors", "hc-accred-dev-notifier-throttles"} <= set(alarms)
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [STATUS_TOPIC_ARN]
    machine_alarms = {a["metricName"]: a for a in alarms.values() if a.get("namespace") == "AWS/States"}
    # The failures, and the missing-run alarm (tests/infra/test_alarms.py).
    assert set(machine_alarms) == {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "ExecutionsSucceeded",
    }
    for alarm in machine_alarms.values():
        assert alarm["dimensions"] == {"StateMachineArn": MACHINE_ARN}


def test_state_machine_is_encrypted_with_the_cmk_logged_and_traced(deployment, dev_config):
    (machine,) = deployment.of_type("aws:sfn/stateMachine:StateMachine")
    inputs = machine.inputs
    assert inputs["type"] == "STANDARD"
    assert inputs["roleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/hc-accred-dev-state-machine"
    encryption = inputs["encryptionConfiguration"]
    assert encryption["type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert encryption["kmsKeyId"] == KEY_ARN
    # Step Functions accepts 60..900 s; a data key is reused at most that long.
    assert 60 <= encryption["kmsDataKeyReusePeriodSeconds"] <= 900
    groups = {r.inputs["name"]: r for r in deployment.of_type("aws:cloudwatch/logGroup:LogGroup")}
    log_group = groups[MACHINE_LOG_GROUP]
    assert log_group.inputs["retentionInDays"] == int(dev_config["healthcare-accreditation:logRetentionDays"])
    assert log_group.inputs["kmsKeyId"] == KEY_ARN
    assert inputs["loggingConfiguration"] == {
        "level": "ALL",
        "includeExecutionData": True,
        "logDestination": f"{log_group.state['arn']}:*",
    }
    assert inputs["tracingConfiguration"] == {"enabled": True}
    assert deployment.outputs["state_machine_arn"] == MACHINE_ARN


def test_raw_arrival_rule_matches_only_object_created_in_the_raw_bucket(deployment):
    pattern = event_rules(deployment)[RAW_ARRIVAL_RULE]
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket_name(layout.RAW)]}},
    }
    target = event_targets(deployment)[RAW_ARRIVAL_RULE]
    assert target["arn"] == MACHINE_ARN
    assert target["roleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/hc-accred-dev-raw-arrival"
    # No input override: the S3 event carries no as_of, so the run's as-of is the execution date.
    assert not {"input", "inputPath", "inputTransformer"} & set(target)
    assert target["retryPolicy"]["maximumRetryAttempts"] > 0


def test_schedule_starts_the_machine_with_empty_input_on_the_configured_cron(deployment, dev_config):
    (schedule,) = deployment.of_type("aws:scheduler/schedule:Schedule")
    inputs = schedule.inputs
    assert inputs["scheduleExpression"] == dev_config["healthcare-accreditation:scheduleExpression"]
    assert inputs["scheduleExpressionTimezone"] == dev_config["healthcare-accreditation:scheduleTimezone"]
    assert inputs["flexibleTimeWindow"] == {"mode": "OFF"}
    target = inputs["target"]
    assert target["arn"] == MACHINE_ARN
    assert target["roleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/hc-accred-dev-schedule"
    assert json.loads(target["input"]) == {} and target["input"] == SCHEDULED_INPUT


def test_schedule_follows_a_changed_config(dev_config):
    config = {
        **dev_config,
        "healthcare-accreditation:scheduleExpression": "cron(30 4 ? * MON-FRI *)",
        "healthcare-accreditation:scheduleTimezone": "America/New_York",
    }
    (schedule,) = run_main(config).of_type("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "cron(30 4 ? * MON-FRI *)"
    assert schedule.inputs["scheduleExpressionTimezone"] == "America/New_York"


def test_trigger_roles_may_only_start_this_state_machine(deployment):
    roles = {r.inputs["name"]: r.inputs for r in deployment.of_type("aws:iam/role:Role")}
    trusted = {
        "hc-accred-dev-raw-arrival": "events.amazonaws.com",
        "hc-accred-dev-schedule": "scheduler.amazonaws.com",
    }
    role_policies = {
        r.inputs["role"]: json.loads(r.inputs["policy"])
        for r in deployment.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    for role, service in trusted.items():
        (trust,) = json.loads(roles[role]["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Service": service}, role
        grants = {}
        for statement in role_policies[role]["Statement"]:
            assert statement["Effect"] == "Allow" and "Condition" not in statement, role
            for action in statement["Action"]:
                grants.setdefault(action, set()).update(
                    [statement["Resource"]]
                    if isinstance(statement["Resource"], str)
                    else statement["Resource"]
                )
        # Starting this one machine; the execution input is encrypted under the machine's key, so the
        # caller may generate data keys with that key and no other.
        assert grants == {"states:StartExecution": {MACHINE_ARN}, "kms:GenerateDataKey": {KEY_ARN}}, role


def test_monitoring_alarms_on_failed_executions_of_the_state_machine():
    machine = f"arn:aws:states:us-east-1:{ACCOUNT_ID}:stateMachine:hc-accred-dev-pipeline"

    def program():
        Monitoring(
            "hc-accred-dev",
            MonitoringArgs(
                stack=DEV_CONTEXT,
                status_topic_arn="arn:aws:sns:us-east-1:123456789012:status",
                glue_job_name="job",
                crawler_name="crawler",
                notifier_function_name="fn",
                workgroup_name="wg",
                topic_names={"status": "status"},
                state_machine_arn=machine,
            ),
        )

    alarms = {
        r.inputs["metricName"]: r.inputs
        for r in run_program(program, {}).of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if "metricName" in r.inputs
    }
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        assert alarms[metric]["dimensions"] == {"StateMachineArn": machine}
        assert alarms[metric]["namespace"] == "AWS/States"


def test_dashboard_covers_the_pipeline(deployment):
    (dashboard,) = deployment.of_type("aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    titles = [w["properties"].get("title") for w in body["widgets"] if w["type"] == "metric"]
    assert (
        "Glue curation job tasks" in titles
        and "Notifier Lambda" in titles
        and "Athena bytes scanned" in titles
    )


@pytest.mark.parametrize(
    "output",
    [
        *(f"{z.replace('-', '_')}_bucket" for z in ALL_BUCKETS),
        "glue_job_name",
        "crawler_name",
        "glue_database",
        "athena_workgroup",
        *(f"{t}_topic_arn" for t in TOPICS),
        "notifier_function_name",
        "dashboard_name",
        "state_machine_arn",
        "start_execution_command",
    ],
)
def test_stack_outputs_exist(deployment, output):
    assert deployment.outputs[output]


def test_main_runs_twice_with_the_same_result(dev_config, deployment):
    again = run_main(dev_config)
    assert sorted((r.type, r.name) for r in again.resources) == sorted(
        (r.type, r.name) for r in deployment.resources
    )
