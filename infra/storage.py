"""Storage: the data-plane KMS key, one S3 bucket per zone, an artifacts bucket and the access-log bucket."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import RetentionSettings
from infra.stack import ZoneRef
from pipeline import layout

TYPE_TOKEN = "healthcare:index:Storage"
ARTIFACTS = "artifacts"
ACCESS_LOGS = "access-logs"
# Zones whose loss cannot be recomputed (inputs, curated history, published results, deployed code).
VERSIONED_BUCKETS = (layout.RAW, layout.CURATED, layout.PRODUCTION, ARTIFACTS)
TABLE_PREFIXES = (f"{layout.FACILITIES_TABLE}/", f"{layout.DATA_QUALITY_TABLE}/")
ABORT_INCOMPLETE_UPLOAD_DAYS = 7


@dataclass
class StorageArgs:
    resource_prefix: str
    account_id: pulumi.Input[str]
    region: str
    partition: pulumi.Input[str]
    retention: RetentionSettings
    force_destroy: bool


def lifecycle_rules(bucket: str, retention: RetentionSettings) -> list[dict]:
    """Lifecycle rules of one bucket as plain dicts (pulumi-aws accepts the dict form of its args)."""
    rules: list[dict] = [
        {
            "id": "abort-incomplete-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_INCOMPLETE_UPLOAD_DAYS},
        }
    ]
    if bucket in VERSIONED_BUCKETS:
        rules.append(
            {
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "noncurrent_version_expiration": {"noncurrent_days": retention.noncurrent_version_days},
            }
        )
    expiring = {
        layout.QUARANTINE: retention.quarantine_days,
        layout.ATHENA_RESULTS: retention.athena_results_days,
        ACCESS_LOGS: retention.access_log_days,
    }
    if bucket in expiring:
        rules.append(
            {
                "id": f"expire-after-{expiring[bucket]}-days",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "expiration": {"days": expiring[bucket]},
            }
        )
    if bucket == layout.CURATED:
        # Snapshot partitions are written once, so object age is snapshot age.
        rules += [
            {
                "id": f"age-snapshots-{prefix.rstrip('/')}",
                "status": "Enabled",
                "filter": {"prefix": prefix},
                "transitions": [{"days": retention.snapshot_transition_days, "storage_class": "STANDARD_IA"}],
                "expiration": {"days": retention.snapshot_expiry_days},
            }
            for prefix in TABLE_PREFIXES
        ]
    return rules


class Storage(pulumi.ComponentResource):
    """Buckets are `<prefix>-<stack>-<zone>-<account>`: lowercase, globally unique, stack-scoped."""

    kms_key_arn: pulumi.Output[str]
    zones: dict[str, ZoneRef]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._buckets: dict[str, aws.s3.Bucket] = {}
        self._public_access_blocks: dict[str, aws.s3.BucketPublicAccessBlock] = {}
        self._kms_key = self._data_key(name, args)
        self._zone_buckets(name, args)
        # Object-created events of the raw zone go to EventBridge, where orchestration picks them up.
        aws.s3.BucketNotification(
            f"{name}-{layout.RAW}-eventbridge",
            bucket=self._buckets[layout.RAW].id,
            eventbridge=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.kms_key_arn = self._kms_key.arn
        self.zones = {
            zone: ZoneRef(
                name=bucket.bucket,
                arn=bucket.arn,
                # With the trailing slash the Glue job arguments expect.
                location=pulumi.Output.concat("s3://", bucket.bucket, "/"),
            )
            for zone, bucket in self._buckets.items()
        }
        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "bucket_names": {zone: ref.name for zone, ref in self.zones.items()},
                "bucket_arns": {zone: ref.arn for zone, ref in self.zones.items()},
            }
        )

    def _data_key(self, name: str, args: StorageArgs) -> aws.kms.Key:
        child = pulumi.ResourceOptions(parent=self)
        key_policy = pulumi.Output.all(partition=args.partition, account_id=args.account_id).apply(
            lambda values: policies.data_key_policy(
                partition=values["partition"], region=args.region, account_id=values["account_id"]
            )
        )
        key = aws.kms.Key(
            f"{name}-data-key",
            description=f"{args.resource_prefix}: data plane (S3, Glue, Athena, SNS, DynamoDB, logs)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(key_policy),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-data-key-alias",
            name=f"alias/{args.resource_prefix}-data",
            target_key_id=key.key_id,
            opts=child,
        )
        return key

    def _zone_buckets(self, name: str, args: StorageArgs) -> None:
        """The access-log bucket, then one bucket per zone and the artifacts bucket, each logging to it."""
        access_logs = self._bucket(name, ACCESS_LOGS, args, sse_kms=False)
        for zone in (*layout.ZONES, ARTIFACTS):
            bucket = self._bucket(name, zone, args, sse_kms=True)
            aws.s3.BucketLogging(
                f"{name}-{zone}-access-logging",
                bucket=bucket.id,
                target_bucket=access_logs.id,
                target_prefix=f"{zone}/",
                opts=pulumi.ResourceOptions(parent=self),
            )
        source_arns = [self._buckets[zone].arn for zone in (*layout.ZONES, ARTIFACTS)]
        access_log_policy = pulumi.Output.all(
            log_bucket_arn=access_logs.arn, account_id=args.account_id, source_bucket_arns=source_arns
        ).apply(lambda values: policies.access_log_bucket_policy(**values))
        self._bucket_policy(name, ACCESS_LOGS, access_logs, pulumi.Output.json_dumps(access_log_policy))

    def _bucket(self, name: str, zone: str, args: StorageArgs, *, sse_kms: bool) -> aws.s3.Bucket:
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-{zone}",
            bucket=pulumi.Output.concat(args.resource_prefix, "-", zone, "-", args.account_id),
            force_destroy=args.force_destroy,
            opts=child,
        )
        self._buckets[zone] = bucket
        aws.s3.BucketOwnershipControls(
            f"{name}-{zone}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        self._public_access_blocks[zone] = aws.s3.BucketPublicAccessBlock(
            f"{name}-{zone}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # S3 delivers server access logs only to buckets with SSE-S3 default encryption.
        default_encryption = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": self._kms_key.arn}
            if sse_kms
            else {"sse_algorithm": "AES256"}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-{zone}-encryption",
            bucket=bucket.id,
            rules=[
                {"apply_server_side_encryption_by_default": default_encryption, "bucket_key_enabled": sse_kms}
            ],
            opts=child,
        )
        versioning = None
        if zone in VERSIONED_BUCKETS:
            versioning = aws.s3.BucketVersioning(
                f"{name}-{zone}-versioning",
                bucket=bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=child,
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-{zone}-lifecycle",
            bucket=bucket.id,
            rules=lifecycle_rules(zone, args.retention),
            # S3 rejects noncurrent-version rules until versioning is on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning] if versioning else []),
        )
        if zone != ACCESS_LOGS:
            tls_only = bucket.arn.apply(policies.bucket_policy)
            self._bucket_policy(name, zone, bucket, pulumi.Output.json_dumps(tls_only))
        return bucket

    def _bucket_policy(self, name: str, zone: str, bucket: aws.s3.Bucket, policy: pulumi.Output[str]) -> None:
        aws.s3.BucketPolicy(
            f"{name}-{zone}-policy",
            bucket=bucket.id,
            policy=policy,
            # S3 can refuse a policy while the bucket's public access block is still being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._public_access_blocks[zone]]),
        )
