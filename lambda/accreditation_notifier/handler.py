"""Lambda entry point of stage 3: validate the Step Functions event, wire the AWS adapters, run the core."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from accreditation_notifier.aws import (
    LazyClients,
    S3AlertsWriter,
    S3ResultsReader,
    SnsPublisher,
    dynamodb_publication_store,
)
from accreditation_notifier.aws_common import parse_s3_uri
from accreditation_notifier.core import run_notifier
from accreditation_notifier.model import (
    CRITICAL,
    HIGH,
    MEDIUM,
    ConfigurationError,
    NotifierPolicy,
    NotifierRequest,
)
from accreditation_notifier.publication import DEFAULT_TTL_DAYS, PublicationRecords

logger = Logger()

# The run's counts as CloudWatch metrics: Embedded Metric Format through Powertools Metrics, in the namespace
# the stack sets (POWERTOOLS_METRICS_NAMESPACE), under the dimension Stack (METRICS_STACK) and Powertools' own
# `service`. Metric name -> summary key, published when the summary carries the key.
RUN_METRICS = {
    "ExpiringAccreditations": "expiring",
    "LapsedAccreditations": "lapsed",
    "NewlyLapsedAccreditations": "newly_lapsed",
    "DigestsPublished": "messages_published",
}
# Per tier, with the dimension Tier: the alerts, and what changed since the previous run (summary["changes"]).
ALERTS_METRIC = "Alerts"
CHANGE_METRICS = {
    "NewAlerts": "new",
    "EscalatedAlerts": "escalated",
    "NewlyLapsedAlerts": "newly_lapsed",
    "ResolvedAlerts": "resolved",
}
STACK_DIMENSION = "Stack"
TIER_DIMENSION = "Tier"


@dataclass(frozen=True)
class NotifierSettings:
    """Everything the function reads from its environment, validated once per invocation."""

    topic_arns: dict[str, str]
    idempotency_table: str
    idempotency_ttl_days: int
    policy: NotifierPolicy
    # Both set by the stack; without them the run's metrics are not published (a warning says so).
    metrics_namespace: str | None = None
    metrics_stack: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifierSettings:
        names = {CRITICAL: "CRITICAL_TOPIC_ARN", HIGH: "HIGH_TOPIC_ARN", MEDIUM: "MEDIUM_TOPIC_ARN"}
        missing = [name for name in (*names.values(), "IDEMPOTENCY_TABLE") if not env.get(name, "").strip()]
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
        raw_ttl = env.get("IDEMPOTENCY_TTL_DAYS", str(DEFAULT_TTL_DAYS)).strip()
        if not raw_ttl.isdigit() or int(raw_ttl) < 1:
            raise ConfigurationError(f"IDEMPOTENCY_TTL_DAYS must be a positive integer, got {raw_ttl!r}")
        return cls(
            topic_arns={priority: env[name].strip() for priority, name in names.items()},
            idempotency_table=env["IDEMPOTENCY_TABLE"].strip(),
            idempotency_ttl_days=int(raw_ttl),
            policy=NotifierPolicy.from_env(env),
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or None,
            metrics_stack=env.get("METRICS_STACK", "").strip() or None,
        )


def parse_request(event: object) -> NotifierRequest:
    """The event as a request; every location must be an s3:// URI (production_location a prefix)."""
    request = NotifierRequest.from_event(event)
    for field, location in request.locations.items():
        parse_s3_uri(location, field=field, folder=field == "production_location")
    return request


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    try:
        return _notify(event, context)
    except Exception:
        # Logged here with the event's keys; re-raised so Step Functions sees the failure by error name.
        logger.exception("notifier failed")
        raise


def _notify(event: object, context: LambdaContext) -> dict[str, object]:
    request = parse_request(event)
    settings = NotifierSettings.from_env(os.environ)
    logger.append_keys(as_of=request.as_of.isoformat(), run_id=request.run_id)
    clients = LazyClients()
    summary = run_notifier(
        request,
        settings.policy,
        reader=S3ResultsReader(clients),
        alerts_writer=S3AlertsWriter(clients),
        publisher=SnsPublisher(clients, settings.topic_arns),
        # The context bounds each digest's claim to this invocation's remaining time.
        records=PublicationRecords(
            dynamodb_publication_store(clients, settings.idempotency_table),
            ttl_days=settings.idempotency_ttl_days,
            lambda_context=context,
        ),
    )
    logger.info({"message": "notifier finished", **summary})
    if settings.metrics_namespace and settings.metrics_stack:
        publish_run_metrics(summary, namespace=settings.metrics_namespace, stack=settings.metrics_stack)
    else:
        logger.warning("run metrics not published: POWERTOOLS_METRICS_NAMESPACE or METRICS_STACK is unset")
    return summary


def publish_run_metrics(summary: Mapping[str, Any], *, namespace: str, stack: str) -> None:
    """Print the run's metrics as EMF events: one for the run, one per tier (alerts and their changes)."""
    metrics = Metrics(namespace=namespace)
    metrics.add_dimension(name=STACK_DIMENSION, value=stack)
    for name, key in RUN_METRICS.items():
        if summary.get(key) is not None:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary[key])
    metrics.flush_metrics()
    changes = summary.get("changes") or {}
    for tier, alerts in summary["alerts"].items():
        metrics.add_dimension(name=STACK_DIMENSION, value=stack)
        metrics.add_dimension(name=TIER_DIMENSION, value=tier)
        metrics.add_metric(name=ALERTS_METRIC, unit=MetricUnit.Count, value=alerts)
        for name, key in CHANGE_METRICS.items():
            if (changes.get(tier) or {}).get(key) is not None:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=changes[tier][key])
        metrics.flush_metrics()
