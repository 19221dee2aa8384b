"""Notifications: the alert and status SNS topics, e-mail subscriptions, and the notifier Lambda."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.catalog import ATHENA_OUTPUT_PREFIX
from infra.config import (
    ALERT_TIERS,
    METRICS_NAMESPACE,
    STATUS_TOPIC,
    TOPICS,
    EmailSubscription,
    NotifierSettings,
)
from infra.functions import python_function
from infra.stack import StackContext, ZoneRef
from pipeline.layout import NOTIFIER_RESULTS_PREFIX
from pipeline.settings import AlertPolicy

TYPE_TOKEN = "healthcare:index:Notifications"
LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"
HANDLER = "accreditation_notifier.handler.lambda_handler"
POWERTOOLS_SERVICE_NAME = "accreditation-notifier"
# The packages of lambda/requirements.txt (aws-lambda-powertools; pygal, the report's charts) and their
# required (non-extra) dependencies, all pure Python, copied from the installed packages:
# `pulumi up` never runs pip, and the zip carries exactly the versions the tests ran against.
VENDORED_MODULES = (
    *("aws_lambda_powertools", "jmespath", "typing_extensions"),
    *("pygal", "importlib_metadata", "zipp", "lazy_importer"),
)
# Where the notifier writes accreditation_alerts.csv inside the athena-results bucket.
ALERTS_PREFIX = NOTIFIER_RESULTS_PREFIX
# The notifier's publication records are Powertools Idempotency records: the hash key and TTL attribute are
# the names DynamoDBPersistenceLayer writes by default.
IDEMPOTENCY_KEY = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"
TIER_FILTER_POLICY = {"scope": ["all"]}


def state_filter_policy(state: str) -> dict[str, list[str]]:
    return {"scope": ["state"], "state": [state]}


def subscription_filter_policy(subscription: EmailSubscription) -> dict[str, list[str]] | None:
    """Tier subscribers get the all-states digest, per-state ones only their state; status is unfiltered."""
    if subscription.topic == STATUS_TOPIC:
        return None
    return state_filter_policy(subscription.state) if subscription.state else TIER_FILTER_POLICY


def notifier_environment(
    *,
    topic_arns: dict[str, str],
    idempotency_table: str,
    alert_policy: AlertPolicy,
    state_digest_states: tuple[str, ...],
    log_level: str,
    metrics_stack: str,
    send_unchanged_digests: bool = True,
) -> dict[str, str]:
    """The notifier's configuration (names from the shared contract of the notifier package)."""
    return {
        "CRITICAL_TOPIC_ARN": topic_arns["critical"],
        "HIGH_TOPIC_ARN": topic_arns["high"],
        "MEDIUM_TOPIC_ARN": topic_arns["medium"],
        "IDEMPOTENCY_TABLE": idempotency_table,
        "CRITICAL_MAX_DAYS": str(alert_policy.critical_max_days),
        "HIGH_MAX_DAYS": str(alert_policy.high_max_days),
        "MEDIUM_MAX_DAYS": str(alert_policy.medium_max_days),
        "STATE_DIGEST_STATES": ",".join(state_digest_states),
        "SEND_UNCHANGED_DIGESTS": "true" if send_unchanged_digests else "false",
        "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_LOG_LEVEL": log_level,
        # The run's counts as EMF metrics (Powertools Metrics) in the pipeline's namespace, per stack.
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "METRICS_STACK": metrics_stack,
    }


def notifier_code() -> pulumi.AssetArchive:
    """The deployment zip: the content of lambda/ plus the vendored packages, at the zip root."""
    entries: dict[str, pulumi.Asset | pulumi.Archive] = {}
    for path in sorted(LAMBDA_DIR.iterdir()):
        if path.name == "__pycache__" or path.name.startswith("."):
            continue
        entries[path.name] = pulumi.FileArchive(str(path)) if path.is_dir() else pulumi.FileAsset(str(path))
    for module in VENDORED_MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{module} is not installed; run pip install -r requirements.txt")
        if spec.submodule_search_locations:
            entries[module] = pulumi.FileArchive(str(Path(spec.origin).parent))
        else:
            entries[f"{module}.py"] = pulumi.FileAsset(spec.origin)
    return pulumi.AssetArchive(entries)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class NotificationsArgs:
    stack: StackContext
    athena_results: ZoneRef
    production: ZoneRef
    subscriptions: tuple[EmailSubscription, ...]
    state_digest_states: tuple[str, ...]
    alert_policy: AlertPolicy
    notifier: NotifierSettings


class Notifications(pulumi.ComponentResource):
    topic_arns: dict[str, pulumi.Output[str]]
    topic_names: dict[str, pulumi.Output[str]]
    status_topic_arn: pulumi.Output[str]
    idempotency_table_name: pulumi.Output[str]
    notifier_function_name: pulumi.Output[str]
    notifier_function_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        topics = self._topics(name, args)
        self._subscriptions(name, args, topics)
        table = self._idempotency_table(name, args)
        function = self._notifier(name, args, topics, table)

        self.topic_arns = {topic: resource.arn for topic, resource in topics.items()}
        self.topic_names = {topic: resource.name for topic, resource in topics.items()}
        self.status_topic_arn = topics[STATUS_TOPIC].arn
        self.idempotency_table_name = table.name
        self.notifier_function_name = function.name
        self.notifier_function_arn = function.arn
        self.register_outputs(
            {
                "topic_arns": self.topic_arns,
                "idempotency_table_name": self.idempotency_table_name,
                "notifier_function_name": self.notifier_function_name,
                "notifier_function_arn": self.notifier_function_arn,
            }
        )

    def _topics(self, name: str, args: NotificationsArgs) -> dict[str, aws.sns.Topic]:
        """One encrypted topic per alert tier plus the status topic, each with its access policy."""
        child = pulumi.ResourceOptions(parent=self)
        stack = args.stack
        topics: dict[str, aws.sns.Topic] = {}
        for topic in TOPICS:
            suffix = "pipeline-status" if topic == STATUS_TOPIC else f"{topic}-alerts"
            topics[topic] = aws.sns.Topic(
                f"{name}-{topic}",
                name=f"{stack.resource_prefix}-{suffix}",
                kms_master_key_id=stack.kms_key_arn,
                opts=child,
            )
            # Alarms and EventBridge rules publish pipeline health to the status topic.
            publishers = policies.TOPIC_SERVICE_PUBLISHERS if topic == STATUS_TOPIC else ()
            document = pulumi.Output.all(topic_arn=topics[topic].arn, account_id=stack.account_id).apply(
                lambda values, publishers=publishers: policies.topic_policy(
                    **values, service_publishers=publishers
                )
            )
            aws.sns.TopicPolicy(
                f"{name}-{topic}-policy",
                arn=topics[topic].arn,
                policy=pulumi.Output.json_dumps(document),
                opts=child,
            )
        return topics

    def _subscriptions(self, name: str, args: NotificationsArgs, topics: dict[str, aws.sns.Topic]) -> None:
        for subscription in args.subscriptions:
            filter_policy = subscription_filter_policy(subscription)
            aws.sns.TopicSubscription(
                f"{name}-{subscription.topic}-{_slug(subscription.state or 'all')}"
                f"-{_slug(subscription.email)}",
                topic=topics[subscription.topic].arn,
                protocol="email",
                endpoint=subscription.email,
                filter_policy=json.dumps(filter_policy) if filter_policy else None,
                filter_policy_scope="MessageAttributes" if filter_policy else None,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _idempotency_table(self, name: str, args: NotificationsArgs) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            f"{name}-idempotency",
            name=f"{args.stack.resource_prefix}-notifier-idempotency",
            billing_mode="PAY_PER_REQUEST",
            hash_key=IDEMPOTENCY_KEY,
            attributes=[{"name": IDEMPOTENCY_KEY, "type": "S"}],
            ttl={"attribute_name": IDEMPOTENCY_TTL_ATTRIBUTE, "enabled": True},
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": args.stack.kms_key_arn},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _notifier(
        self,
        name: str,
        args: NotificationsArgs,
        topics: dict[str, aws.sns.Topic],
        table: aws.dynamodb.Table,
    ) -> aws.lambda_.Function:
        """The notifier Lambda with its log group and role."""
        stack = args.stack
        alert_topic_arns = [topics[tier].arn for tier in ALERT_TIERS]
        environment = pulumi.Output.all(
            idempotency_table=table.name, alert_topic_arns=alert_topic_arns
        ).apply(
            lambda values: notifier_environment(
                topic_arns=dict(zip(ALERT_TIERS, values["alert_topic_arns"], strict=True)),
                idempotency_table=values["idempotency_table"],
                alert_policy=args.alert_policy,
                state_digest_states=args.state_digest_states,
                log_level=args.notifier.log_level,
                metrics_stack=stack.resource_prefix,
                send_unchanged_digests=args.notifier.send_unchanged_digests,
            )
        )
        return python_function(
            f"{name}-notifier",
            function_name=f"{stack.resource_prefix}-notifier",
            description="Tiered accreditation alert digests to SNS, once per run",
            handler=HANDLER,
            code=notifier_code(),
            policy=lambda log_group_arn: pulumi.Output.all(
                idempotency_table_arn=table.arn,
                athena_results_bucket_arn=args.athena_results.arn,
                log_group_arn=log_group_arn,
                kms_key_arn=stack.kms_key_arn,
                production_bucket_arn=args.production.arn,
                alert_topic_arns=alert_topic_arns,
            ).apply(
                lambda values: policies.notifier_policy(
                    **values,
                    # The stage results it reads are Athena's query results.
                    stage_results_prefix=ATHENA_OUTPUT_PREFIX,
                    alerts_prefix=ALERTS_PREFIX,
                )
            ),
            sizing=args.notifier,
            environment=environment,
            stack=stack,
            parent=self,
        )
