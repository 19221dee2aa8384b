"""Fixtures of the notifier tests: environment variables, a moto account wired like the stack, a context."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from accreditation_notifier.subscriptions import NATIONAL_FILTER_POLICY, state_filter_policy
from moto import mock_aws
from notifier_testkit import (
    LEDGER_TABLE,
    PRODUCTION_BUCKET,
    RESULTS_BUCKET,
    TIERS,
    CloudAccount,
    FakeLambdaContext,
)

from infra.notifications import IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_ATTRIBUTE


@pytest.fixture
def notifier_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CRITICAL_MAX_DAYS": "30",
        "HIGH_MAX_DAYS": "60",
        "MEDIUM_MAX_DAYS": "90",
        "IDEMPOTENCY_TABLE": LEDGER_TABLE,
        "STATE_DIGEST_STATES": "TX,CA",
        "POWERTOOLS_SERVICE_NAME": "accreditation-notifier",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def cloud(notifier_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudAccount]:
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (RESULTS_BUCKET, PRODUCTION_BUCKET):
            s3.create_bucket(Bucket=bucket)
        sns = boto3.client("sns")
        topic_arns = {tier: sns.create_topic(Name=f"accreditation-{tier}")["TopicArn"] for tier in TIERS}
        for tier, arn in topic_arns.items():
            monkeypatch.setenv(f"{tier.upper()}_TOPIC_ARN", arn)
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=LEDGER_TABLE,
            KeySchema=[{"AttributeName": IDEMPOTENCY_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": IDEMPOTENCY_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(
            TableName=LEDGER_TABLE,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": IDEMPOTENCY_TTL_ATTRIBUTE},
        )
        account = CloudAccount(topic_arns=topic_arns)
        account.subscribe("national", NATIONAL_FILTER_POLICY)
        account.subscribe("texas", state_filter_policy("TX"))
        account.subscribe("california", state_filter_policy("CA"))
        account.subscribe("everything", None)
        yield account


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
