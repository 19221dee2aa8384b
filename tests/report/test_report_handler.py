"""The report Lambda on moto's S3: reads the run's results and earlier reports, writes both copies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from accreditation_report.handler import lambda_handler, policy_from_env
from accreditation_report.model import (
    ConfigurationError,
    InvalidEventError,
    ReportInputNotFoundError,
    ReportPolicy,
)
from moto import mock_aws
from report_testkit import FIXTURE_CURATION_REPORT, FIXTURE_PRODUCTION

PRODUCTION_BUCKET = "production-bucket"
CURATED_BUCKET = "curated-bucket"
CURATION_REPORT_KEY = "_reports/snapshot_date=2026-12-01/curation_report.json"


@dataclass
class FakeLambdaContext:
    function_name: str = "accreditation-report"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:accreditation-report"
    aws_request_id: str = "request-1"


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "accreditation-report")
    with mock_aws():
        client = boto3.client("s3")
        for bucket in (PRODUCTION_BUCKET, CURATED_BUCKET):
            client.create_bucket(Bucket=bucket)
        for path in sorted(FIXTURE_PRODUCTION.rglob("*")):
            if path.is_file():
                key = path.relative_to(FIXTURE_PRODUCTION).as_posix()
                client.put_object(Bucket=PRODUCTION_BUCKET, Key=key, Body=path.read_bytes())
        client.put_object(
            Bucket=CURATED_BUCKET, Key=CURATION_REPORT_KEY, Body=Path(FIXTURE_CURATION_REPORT).read_bytes()
        )
        yield client


def event(**overrides: object) -> dict[str, object]:
    return {
        "as_of": "2026-12-01",
        "run_id": "run-1201",
        "production_location": f"s3://{PRODUCTION_BUCKET}/as_of=2026-12-01/",
        "latest_location": f"s3://{PRODUCTION_BUCKET}/latest/",
        "curation_report": f"s3://{CURATED_BUCKET}/{CURATION_REPORT_KEY}",
        "previous_as_of": "2026-11-30",
        **overrides,
    }


def read(s3, key: str) -> tuple[str, str]:
    response = s3.get_object(Bucket=PRODUCTION_BUCKET, Key=key)
    return response["Body"].read().decode("utf-8"), response["ContentType"]


def test_the_report_and_its_data_are_written_to_the_run_folder_and_to_latest(s3):
    summary = lambda_handler(event(), FakeLambdaContext())

    assert summary["report"] == f"s3://{PRODUCTION_BUCKET}/as_of=2026-12-01/report.html"
    assert summary["latest_report"] == f"s3://{PRODUCTION_BUCKET}/latest/report.html"
    assert summary["report_data"] == f"s3://{PRODUCTION_BUCKET}/as_of=2026-12-01/report_data.json"
    assert summary["counts"] == {
        "critical": 3,
        "high": 2,
        "medium": 2,
        "lapsed": 2,
        "newly_lapsed": 1,
        "resolved": 2,
    }
    assert summary["trend_runs"] == 3
    for folder in ("as_of=2026-12-01/", "latest/"):
        page, content_type = read(s3, folder + "report.html")
        assert content_type == "text/html; charset=utf-8"
        assert len(page.encode()) == summary["report_bytes"]
        assert "F-LAPSED-OLD" in page and "<svg" in page
        data, content_type = read(s3, folder + "report_data.json")
        assert content_type == "application/json"
        document = json.loads(data)
        assert document["as_of"] == "2026-12-01"
        assert document["counts"]["critical"] == 3
        assert document["data_quality"]["quarantined"] == 5


def test_the_next_run_reads_this_runs_report_data_into_its_trend(s3):
    lambda_handler(event(), FakeLambdaContext())
    for name in (
        "accreditation_alerts",
        "expiring_accreditations",
        "lapsed_accreditations",
        "facilities_by_state",
    ):
        s3.copy_object(
            Bucket=PRODUCTION_BUCKET,
            Key=f"as_of=2026-12-03/{name}.csv",
            CopySource={"Bucket": PRODUCTION_BUCKET, "Key": f"as_of=2026-12-01/{name}.csv"},
        )

    summary = lambda_handler(
        event(
            as_of="2026-12-03",
            production_location=f"s3://{PRODUCTION_BUCKET}/as_of=2026-12-03/",
            previous_as_of="2026-12-02",
            curation_report=None,
        ),
        FakeLambdaContext(),
    )

    # 11-29, 11-30, 12-01 (written by the first invocation), 12-02, then this run; 11-28 is unreadable.
    assert summary["trend_runs"] == 5
    assert summary["counts"]["resolved"] == 0  # no resolved file in as_of=2026-12-03/
    data, _ = read(s3, "latest/report_data.json")
    assert json.loads(data)["as_of"] == "2026-12-03"


def test_a_missing_result_fails_and_writes_nothing(s3):
    s3.delete_object(Bucket=PRODUCTION_BUCKET, Key="as_of=2026-12-01/accreditation_alerts.csv")

    with pytest.raises(ReportInputNotFoundError, match=r"accreditation_alerts\.csv"):
        lambda_handler(event(), FakeLambdaContext())

    listed = s3.list_objects_v2(Bucket=PRODUCTION_BUCKET, Prefix="latest/")
    assert listed.get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"production_location": "/local/as_of=2026-12-01/"}, "production_location"),
        ({"latest_location": "file:///tmp/latest/"}, "latest_location"),
        ({"curation_report": f"s3://{CURATED_BUCKET}/_reports/"}, "curation_report"),
        ({"run_id": None}, "run_id"),
    ],
)
def test_an_event_outside_the_contract_is_refused_by_field(s3, overrides, problem):
    with pytest.raises(InvalidEventError, match=problem):
        lambda_handler(event(**overrides), FakeLambdaContext())


def test_the_policy_comes_from_the_environment_with_the_pipelines_defaults():
    assert policy_from_env({}) == ReportPolicy()
    assert policy_from_env({"CRITICAL_MAX_DAYS": "14", "EXPIRING_WINDOW_MONTHS": "3"}) == ReportPolicy(
        critical_max_days=14, expiring_window_months=3
    )
    with pytest.raises(ConfigurationError, match="HIGH_MAX_DAYS"):
        policy_from_env({"HIGH_MAX_DAYS": "sixty"})
