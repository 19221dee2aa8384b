"""The notifier Lambda on moto: who receives what, exactly once, SNS limits, retries and failures."""

from __future__ import annotations

import csv
import io
import json
import re

import boto3
import pytest
from accreditation_notifier.aws import LazyClients
from accreditation_notifier.handler import lambda_handler
from accreditation_notifier.model import (
    ALERTS_COLUMNS,
    ConfigurationError,
    InvalidEventError,
    ResultsNotFoundError,
)
from botocore.exceptions import EndpointConnectionError
from notifier_testkit import RESULTS_BUCKET, result_row

EXPIRING = [
    result_row("TX-CRIT", 3, "TX"),
    result_row("CA-CRIT", 12, "CA"),
    result_row("NY-CRIT", 30, "NY"),
    result_row("TX-HIGH", 31, "TX"),
    result_row("NY-HIGH", 60, "NY"),
    result_row("NY-MED", 61, "NY"),
    result_row("FL-MED", 90, "FL"),
    result_row("TX-LATER", 91, "TX"),
]
LAPSED = [result_row("TX-LAPSED", -10, "TX", body="DNV")]
SUBSCRIBERS = ("national", "texas", "california", "everything")


@pytest.fixture
def results(cloud):
    cloud.put_results("stage2/expiring.csv", EXPIRING)
    cloud.put_results("lapsed/lapsed.csv", LAPSED)
    return cloud


def inbox(cloud) -> dict[tuple[str, str], list]:
    return {
        (tier, who): cloud.received(tier, who)
        for tier in ("critical", "high", "medium")
        for who in SUBSCRIBERS
    }


def test_each_subscriber_gets_exactly_the_digests_its_filter_policy_selects(results, lambda_context):
    summary = lambda_handler(results.event(), lambda_context)

    assert summary == {
        "as_of": "2026-12-01",
        "run_id": "run-1",
        "expiring": 8,
        "alerts": {"critical": 3, "high": 2, "medium": 2},
        "lapsed": 1,
        # A first run: no earlier production alerts, so every alert is new.
        "previous_as_of": None,
        "changes": {
            "critical": {"new": 3, "escalated": 0, "newly_lapsed": 1, "resolved": 0},
            "high": {"new": 2, "escalated": 0, "newly_lapsed": 0, "resolved": 0},
            "medium": {"new": 2, "escalated": 0, "newly_lapsed": 0, "resolved": 0},
        },
        "change_totals": {"new": 7, "escalated": 0, "newly_lapsed": 1, "resolved": 0},
        "unchanged_digests_not_sent": [],
        "messages_published": 6,
        "duplicates_skipped": 0,
        "alerts_output": f"s3://{RESULTS_BUCKET}/notifier/run-1/accreditation_alerts.csv",
        "resolved_output": f"s3://{RESULTS_BUCKET}/notifier/run-1/resolved_accreditations.csv",
    }
    got = inbox(results)
    counts = {key: len(messages) for key, messages in got.items()}
    assert counts == {
        ("critical", "national"): 1,
        ("critical", "texas"): 1,
        ("critical", "california"): 1,
        ("critical", "everything"): 3,
        ("high", "national"): 1,
        ("high", "texas"): 1,
        ("high", "california"): 0,
        ("high", "everything"): 2,
        ("medium", "national"): 1,
        ("medium", "texas"): 0,
        ("medium", "california"): 0,
        ("medium", "everything"): 1,
    }
    (national,) = got[("critical", "national")]
    assert national.attributes == {
        "priority": "critical",
        "as_of": "2026-12-01",
        "scope": "all",
        "run_id": "run-1",
    }
    assert all(name in national.message for name in ("TX-CRIT", "CA-CRIT", "NY-CRIT", "TX-LAPSED"))
    assert len(national.subject) <= 100
    (texas,) = got[("critical", "texas")]
    assert texas.attributes["state"] == "TX" and texas.attributes["scope"] == "state"
    assert "TX-CRIT" in texas.message and "TX-LAPSED" in texas.message
    assert "CA-CRIT" not in texas.message and "NY-CRIT" not in texas.message
    lapsed_line = next(line for line in texas.message.splitlines() if "TX-LAPSED" in line)
    assert lapsed_line.startswith("NEWLY LAPSED")  # a first run: nothing lapsed before
    (texas_high,) = got[("high", "texas")]
    assert "TX-HIGH" in texas_high.message and "NY-HIGH" not in texas_high.message


def test_the_alerts_csv_is_written_to_s3_with_priorities(results, lambda_context):
    lambda_handler(results.event(), lambda_context)

    body = boto3.client("s3").get_object(Bucket=RESULTS_BUCKET, Key="notifier/run-1/accreditation_alerts.csv")
    rows = list(csv.DictReader(io.StringIO(body["Body"].read().decode())))
    assert tuple(rows[0]) == ALERTS_COLUMNS
    assert [(r["facility_id"], r["priority"]) for r in rows] == [
        ("TX-CRIT", "critical"),
        ("CA-CRIT", "critical"),
        ("NY-CRIT", "critical"),
        ("TX-HIGH", "high"),
        ("NY-HIGH", "high"),
        ("NY-MED", "medium"),
        ("FL-MED", "medium"),
        ("TX-LAPSED", "critical"),
    ]


def test_without_state_subscribers_there_is_exactly_one_digest_per_non_empty_tier(
    results, lambda_context, monkeypatch
):
    monkeypatch.setenv("STATE_DIGEST_STATES", "")

    summary = lambda_handler(results.event(), lambda_context)

    assert summary["messages_published"] == 3
    got = inbox(results)
    assert {key: len(m) for key, m in got.items() if m} == {
        ("critical", "national"): 1,
        ("critical", "everything"): 1,
        ("high", "national"): 1,
        ("high", "everything"): 1,
        ("medium", "national"): 1,
        ("medium", "everything"): 1,
    }


def test_a_duplicate_invocation_and_a_manual_rerun_publish_nothing_new(results, lambda_context):
    first = lambda_handler(results.event(), lambda_context)
    inbox(results)

    duplicate = lambda_handler(results.event(), lambda_context)
    rerun = lambda_handler(results.event(run_id="manual-rerun"), lambda_context)

    assert (first["messages_published"], first["duplicates_skipped"]) == (6, 0)
    assert (duplicate["messages_published"], duplicate["duplicates_skipped"]) == (0, 6)
    assert (rerun["messages_published"], rerun["duplicates_skipped"]) == (0, 6)
    assert all(messages == [] for messages in inbox(results).values())
    records = results.publication_records()
    assert set(records) == {
        "2026-12-01#critical#all",
        "2026-12-01#critical#state#CA",
        "2026-12-01#critical#state#TX",
        "2026-12-01#high#all",
        "2026-12-01#high#state#TX",
        "2026-12-01#medium#all",
    }
    assert all(record["status"] == "COMPLETED" for record in records.values())
    # Replays publish nothing and save nothing: every record is the first run's.
    assert {json.loads(record["data"])["run_id"] for record in records.values()} == {"run-1"}


def failing_publish_to(topic_arn: str):
    """A boto3 session whose SNS Publish to one topic fails without reaching the service."""
    session = boto3.session.Session()

    def refuse(params, **_):
        if params.get("TopicArn") == topic_arn:
            raise ConnectionError("SNS unreachable for the high topic")

    session.events.register("before-parameter-build.sns.Publish", refuse)
    return session


def test_a_retry_after_a_partial_failure_publishes_only_the_missing_digests(
    results, lambda_context, monkeypatch
):
    monkeypatch.setenv("STATE_DIGEST_STATES", "")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", failing_publish_to(results.topic_arns["high"]))

    with pytest.raises(ConnectionError, match="high topic"):
        lambda_handler(results.event(), lambda_context)

    assert set(results.publication_records()) == {"2026-12-01#critical#all"}
    assert len(results.received("critical", "national")) == 1
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)

    retry = lambda_handler(results.event(), lambda_context)

    assert (retry["messages_published"], retry["duplicates_skipped"]) == (2, 1)
    assert results.received("critical", "national") == []
    assert len(results.received("high", "national")) == 1
    assert len(results.received("medium", "national")) == 1


def test_transient_sns_errors_are_retried_with_backoff_not_swallowed(results, lambda_context, monkeypatch):
    monkeypatch.setenv("STATE_DIGEST_STATES", "")
    session = boto3.session.Session()
    attempts: list[str] = []

    def drop_first_two(request, **_):
        # Registered first, so the failed attempts never reach moto, as a lost connection never reaches SNS.
        attempts.append(request.url)
        if len(attempts) <= 2:
            raise EndpointConnectionError(endpoint_url=request.url)

    session.events.register_first("before-send.sns.Publish", drop_first_two)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)

    summary = lambda_handler(results.event(), lambda_context)

    assert summary["messages_published"] == 3
    assert len(attempts) == 5, "two failed attempts, then one per digest"
    assert len(results.received("critical", "national")) == 1


def test_clients_retry_throttling_adaptively():
    config = LazyClients().get("sns").meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 8}


def test_a_digest_at_the_size_limit_is_truncated_and_accepted_by_sns(cloud, lambda_context):
    rows = [result_row(f"F{i:06d}", i % 31, "TX", name="Regional Medical Center " * 3) for i in range(20_000)]
    cloud.put_results("stage2/expiring.csv", rows)
    cloud.put_results("lapsed/lapsed.csv", [])

    summary = lambda_handler(cloud.event(), lambda_context)

    assert summary["alerts"]["critical"] == 20_000
    (texas,) = cloud.received("critical", "texas")
    size = len(texas.message.encode()) + sum(
        len(k) + len("String") + len(v) for k, v in texas.attributes.items()
    )
    assert 250_000 < size <= 262_144
    assert re.search(r"more not shown here \(\d+ of them changed\) \(message size limit\)", texas.message)
    assert "s3://production-bucket/as_of=2026-12-01/accreditation_alerts.csv" in texas.message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"as_of": "2026-13-01"}, "as_of: must be a calendar date"),
        ({"run_id": None}, "run_id: missing"),
        ({"expiring_results": "/tmp/expiring.csv"}, "expiring_results: must be an s3://bucket/key URI"),
        ({"alerts_output": f"s3://{RESULTS_BUCKET}/notifier/"}, "alerts_output: must name an object"),
    ],
)
def test_a_malformed_event_fails_the_invocation_and_publishes_nothing(
    results, lambda_context, change, message
):
    event = {k: v for k, v in (results.event() | change).items() if v is not None}

    with pytest.raises(InvalidEventError, match=message):
        lambda_handler(event, lambda_context)

    assert all(messages == [] for messages in inbox(results).values())


def test_a_non_object_event_fails_the_invocation(results, lambda_context):
    with pytest.raises(InvalidEventError, match="event must be a JSON object"):
        lambda_handler(["not", "an", "object"], lambda_context)


def test_a_missing_results_object_fails_the_invocation_and_writes_nothing(cloud, lambda_context):
    cloud.put_results("stage2/expiring.csv", EXPIRING)

    with pytest.raises(ResultsNotFoundError, match=re.escape(f"s3://{RESULTS_BUCKET}/lapsed/lapsed.csv")):
        lambda_handler(cloud.event(), lambda_context)

    listed = boto3.client("s3").list_objects_v2(Bucket=RESULTS_BUCKET, Prefix="notifier/")
    assert listed["KeyCount"] == 0
    assert all(messages == [] for messages in inbox(cloud).values())


def test_missing_configuration_fails_with_the_variable_names(results, lambda_context, monkeypatch):
    monkeypatch.delenv("HIGH_TOPIC_ARN")
    monkeypatch.delenv("IDEMPOTENCY_TABLE")

    with pytest.raises(ConfigurationError, match="HIGH_TOPIC_ARN, IDEMPOTENCY_TABLE"):
        lambda_handler(results.event(), lambda_context)
