"""Catalog: Glue database, security and catalog encryption, crawler, Athena workgroup and named queries."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.roles import service_role
from infra.stack import StackContext, ZoneRef
from pipeline import layout
from pipeline.sql_files import load_sql
from pipeline.stages import QUERY_STAGES

TYPE_TOKEN = "healthcare:index:Catalog"
TABLE_PREFIXES = (f"{layout.FACILITIES_TABLE}/", f"{layout.DATA_QUALITY_TABLE}/")
ATHENA_OUTPUT_PREFIX = "queries/"
ATHENA_ENGINE_VERSION = "Athena engine version 3"
# Crawler output: partitions take the table's schema, so a partition never diverges from its table.
CRAWLER_CONFIGURATION = {
    "Version": 1.0,
    "CrawlerOutput": {
        "Partitions": {"AddOrUpdateBehavior": "InheritFromTable"},
        "Tables": {"AddOrUpdateBehavior": "MergeNewColumns"},
    },
    "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"},
}


@dataclass
class CatalogArgs:
    stack: StackContext
    database_name: str
    workgroup_name: str
    curated: ZoneRef
    athena_results: ZoneRef
    athena_bytes_scanned_cutoff: int
    manage_catalog_encryption: bool
    force_destroy: bool


def crawler_log_group_name(role_name: str, security_configuration_name: str) -> str:
    """Where Glue writes an encrypted crawler's logs (Glue names it from role and security configuration)."""
    return f"/aws-glue/crawlers-role/{role_name}-{security_configuration_name}"


class Catalog(pulumi.ComponentResource):
    database_name: pulumi.Output[str]
    security_configuration_name: pulumi.Output[str]
    crawler_name: pulumi.Output[str]
    workgroup_name: pulumi.Output[str]

    def __init__(self, name: str, args: CatalogArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        stack = args.stack
        database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=args.database_name,
            description=f"{stack.resource_prefix}: curated accreditation tables",
            opts=pulumi.ResourceOptions(parent=self),
        )
        security_configuration = self._encryption(name, args)
        crawler = self._crawler(name, args, database, security_configuration)
        workgroup = self._workgroup(name, args, database)

        self.database_name = database.name
        self.security_configuration_name = security_configuration.name
        self.crawler_name = crawler.name
        self.workgroup_name = workgroup.name
        self.register_outputs(
            {
                "database_name": self.database_name,
                "security_configuration_name": self.security_configuration_name,
                "crawler_name": self.crawler_name,
                "workgroup_name": self.workgroup_name,
            }
        )

    def _encryption(self, name: str, args: CatalogArgs) -> aws.glue.SecurityConfiguration:
        """The Glue security configuration and, when this stack manages it, the catalog's encryption."""
        child = pulumi.ResourceOptions(parent=self)
        key_arn = args.stack.kms_key_arn
        security_configuration = aws.glue.SecurityConfiguration(
            f"{name}-security-configuration",
            name=f"{args.stack.resource_prefix}-glue",
            encryption_configuration={
                "s3_encryption": {"s3_encryption_mode": "SSE-KMS", "kms_key_arn": key_arn},
                "cloudwatch_encryption": {
                    "cloudwatch_encryption_mode": "SSE-KMS",
                    "kms_key_arn": key_arn,
                },
                "job_bookmarks_encryption": {
                    "job_bookmarks_encryption_mode": "CSE-KMS",
                    "kms_key_arn": key_arn,
                },
            },
            opts=child,
        )
        if args.manage_catalog_encryption:
            # One setting per account and region: only one stack of an account/region may manage it.
            aws.glue.DataCatalogEncryptionSettings(
                f"{name}-catalog-encryption",
                data_catalog_encryption_settings={
                    "encryption_at_rest": {
                        "catalog_encryption_mode": "SSE-KMS",
                        "sse_aws_kms_key_id": key_arn,
                    },
                    "connection_password_encryption": {
                        "return_connection_password_encrypted": True,
                        "aws_kms_key_id": key_arn,
                    },
                },
                opts=child,
            )
        return security_configuration

    def _crawler(
        self,
        name: str,
        args: CatalogArgs,
        database: aws.glue.CatalogDatabase,
        security_configuration: aws.glue.SecurityConfiguration,
    ) -> aws.glue.Crawler:
        """The crawler of the curated tables, its role and its encrypted log group."""
        child = pulumi.ResourceOptions(parent=self)
        stack = args.stack
        crawler_role_name = f"{stack.resource_prefix}-crawler"
        crawler_document = pulumi.Output.all(
            partition=stack.partition,
            account_id=stack.account_id,
            curated_bucket_arn=args.curated.arn,
            kms_key_arn=stack.kms_key_arn,
        ).apply(
            lambda values: policies.crawler_policy(
                **values, region=stack.region, table_prefixes=TABLE_PREFIXES
            )
        )
        crawler_role = service_role(
            f"{name}-crawler",
            role_name=crawler_role_name,
            service="glue.amazonaws.com",
            policy_json=pulumi.Output.json_dumps(crawler_document),
            managed_policy_arns=[
                pulumi.Output.from_input(stack.partition).apply(
                    lambda partition: policies.aws_managed_policy_arn(
                        partition, policies.CRAWLER_MANAGED_POLICY
                    )
                )
            ],
            opts=child,
        )
        crawler_log_group = aws.cloudwatch.LogGroup(
            f"{name}-crawler-logs",
            name=crawler_log_group_name(crawler_role_name, f"{stack.resource_prefix}-glue"),
            retention_in_days=stack.log_retention_days,
            kms_key_id=stack.kms_key_arn,
            opts=child,
        )
        return aws.glue.Crawler(
            f"{name}-crawler",
            name=f"{stack.resource_prefix}-curated",
            database_name=database.name,
            role=crawler_role.role.arn,
            security_configuration=security_configuration.name,
            s3_targets=[
                {"path": pulumi.Output.concat(args.curated.location, prefix)} for prefix in TABLE_PREFIXES
            ],
            schema_change_policy={"update_behavior": "UPDATE_IN_DATABASE", "delete_behavior": "LOG"},
            # The state machine runs the crawler only on a first run or a schema change: crawl it all then.
            recrawl_policy={"recrawl_behavior": "CRAWL_EVERYTHING"},
            configuration=json.dumps(CRAWLER_CONFIGURATION),
            # IAM is eventually consistent: the role must carry its policy before Glue validates it.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*crawler_role.permissions, crawler_log_group]
            ),
        )

    def _workgroup(
        self, name: str, args: CatalogArgs, database: aws.glue.CatalogDatabase
    ) -> aws.athena.Workgroup:
        """The Athena workgroup and one saved query per stage."""
        child = pulumi.ResourceOptions(parent=self)
        stack = args.stack
        workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=args.workgroup_name,
            description=f"{stack.resource_prefix}: accreditation stage queries",
            state="ENABLED",
            force_destroy=args.force_destroy,
            configuration={
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": args.athena_bytes_scanned_cutoff,
                "engine_version": {"selected_engine_version": ATHENA_ENGINE_VERSION},
                "result_configuration": {
                    "output_location": pulumi.Output.concat(
                        args.athena_results.location, ATHENA_OUTPUT_PREFIX
                    ),
                    "encryption_configuration": {
                        "encryption_option": "SSE_KMS",
                        "kms_key_arn": stack.kms_key_arn,
                    },
                },
            },
            opts=child,
        )
        for stage in QUERY_STAGES:
            aws.athena.NamedQuery(
                f"{name}-{stage.name.replace('_', '-')}",
                name=f"{stack.resource_prefix}-{stage.name}",
                description=f"{stage.title}. Parameters in order: {', '.join(stage.parameters)}",
                database=database.name,
                workgroup=workgroup.name,
                query=load_sql(stage.sql_file),
                opts=child,
            )
        return workgroup
