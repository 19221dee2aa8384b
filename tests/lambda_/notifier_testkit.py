"""Builders the notifier tests share: Athena-style result files, events, and a view of a moto account."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from accreditation_notifier.model import RESULT_COLUMNS

AS_OF = dt.date(2026, 12, 1)
RESULTS_BUCKET = "athena-results-bucket"
PRODUCTION_BUCKET = "production-bucket"
LEDGER_TABLE = "notifier-idempotency"
TIERS = ("critical", "high", "medium")


def result_row(
    facility_id: str,
    days: int,
    state: str = "TX",
    *,
    name: str | None = None,
    body: str = "Joint Commission",
    accreditation_id: str | None = None,
) -> dict[str, str | None]:
    """One row of the expiring or lapsed results; None stands for an Athena NULL."""
    return {
        "facility_id": facility_id,
        "facility_name": f"{facility_id} Clinic" if name is None else name,
        "state": state,
        "accreditation_body": body,
        "accreditation_id": accreditation_id or f"{facility_id}-{body[:2].upper()}",
        "valid_until": (AS_OF + dt.timedelta(days=days)).isoformat(),
        "days_until_expiry": str(days),
    }


def athena_csv(rows: Iterable[dict[str, str | None]]) -> str:
    """Athena's CSV format: header, every value double-quoted, NULL as an empty unquoted field."""

    def quote(value: str | None) -> str:
        return "" if value is None else '"' + value.replace('"', '""') + '"'

    lines = [",".join(quote(column) for column in RESULT_COLUMNS)]
    lines += [",".join(quote(row[column]) for column in RESULT_COLUMNS) for row in rows]
    return "\n".join(lines) + "\n"


def write_results(path: Path, rows: Iterable[dict[str, str | None]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(athena_csv(rows), encoding="utf-8")
    return path


def local_event(out_dir: Path, run_id: str = "run-1") -> dict[str, str]:
    """The event the local runner builds, with s3://<zone>/ locations mapped under out_dir."""
    return {
        "as_of": AS_OF.isoformat(),
        "run_id": run_id,
        "expiring_results": "s3://athena-results/stage2/expiring.csv",
        "lapsed_results": "s3://athena-results/lapsed/lapsed.csv",
        "alerts_output": f"s3://athena-results/notifier/{run_id}/accreditation_alerts.csv",
        "production_location": f"s3://production/as_of={AS_OF.isoformat()}/",
    }


@dataclass
class FakeLambdaContext:
    function_name: str = "accreditation-notifier"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:accreditation-notifier"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Received:
    """One SNS notification as an SQS subscriber sees it."""

    topic: str
    subject: str
    message: str
    attributes: dict[str, str]


@dataclass
class CloudAccount:
    """A moto account wired like the deployed stack, with one SQS queue per (tier, subscriber)."""

    topic_arns: dict[str, str]
    queue_urls: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def s3(self):
        return boto3.client("s3")

    def put_results(self, key: str, rows: Iterable[dict[str, str | None]]) -> str:
        self.s3.put_object(Bucket=RESULTS_BUCKET, Key=key, Body=athena_csv(rows).encode())
        return f"s3://{RESULTS_BUCKET}/{key}"

    def event(self, run_id: str = "run-1", **overrides: object) -> dict[str, object]:
        event: dict[str, object] = {
            "as_of": AS_OF.isoformat(),
            "run_id": run_id,
            "expiring_results": f"s3://{RESULTS_BUCKET}/stage2/expiring.csv",
            "lapsed_results": f"s3://{RESULTS_BUCKET}/lapsed/lapsed.csv",
            "alerts_output": f"s3://{RESULTS_BUCKET}/notifier/{run_id}/accreditation_alerts.csv",
            "production_location": f"s3://{PRODUCTION_BUCKET}/as_of={AS_OF.isoformat()}/",
        }
        event.update(overrides)
        return event

    def subscribe(self, subscriber: str, filter_policy: dict[str, list[str]] | None) -> None:
        sqs, sns = boto3.client("sqs"), boto3.client("sns")
        for tier, topic_arn in self.topic_arns.items():
            url = sqs.create_queue(QueueName=f"{tier}-{subscriber}")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
            self.queue_urls[(tier, subscriber)] = url

    def received(self, tier: str, subscriber: str) -> list[Received]:
        """Every message the subscriber's queue holds (drained: a second call sees only newer ones)."""
        sqs = boto3.client("sqs")
        messages: list[Received] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_urls[(tier, subscriber)], MaxNumberOfMessages=10)
            if not batch.get("Messages"):
                return messages
            for sqs_message in batch["Messages"]:
                envelope = json.loads(sqs_message["Body"])
                messages.append(
                    Received(
                        topic=envelope["TopicArn"],
                        subject=envelope.get("Subject", ""),
                        message=envelope["Message"],
                        attributes={k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()},
                    )
                )
                sqs.delete_message(
                    QueueUrl=self.queue_urls[(tier, subscriber)], ReceiptHandle=sqs_message["ReceiptHandle"]
                )

    def publication_records(self) -> dict[str, dict[str, str]]:
        """The idempotency table's items, by the digest id a completed one saved (else by record id)."""
        items = boto3.client("dynamodb").scan(TableName=LEDGER_TABLE)["Items"]
        flat = [{k: next(iter(v.values())) for k, v in item.items()} for item in items]
        return {json.loads(item["data"])["digest"] if "data" in item else item["id"]: item for item in flat}
