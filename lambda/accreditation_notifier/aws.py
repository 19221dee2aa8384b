"""Cloud adapters of the notifier: S3 reader and alerts writer, SNS publisher, DynamoDB publication ledger."""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from accreditation_notifier.model import (
    Digest,
    DigestInProgressError,
    DigestKey,
    InvalidEventError,
    ResultsNotFoundError,
)

# Throttling and transient errors are retried with exponential backoff; adaptive mode also slows the
# client down when SNS or DynamoDB throttle, instead of burning the attempts.
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 8}, connect_timeout=5, read_timeout=30
)

STATUS_IN_PROGRESS = "IN_PROGRESS"
STATUS_COMPLETED = "COMPLETED"

_MISSING_OBJECT_CODES = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}


def parse_s3_uri(uri: str, *, field: str, allow_prefix: bool = False) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI; a prefix (key ending with '/' or empty) only when allow_prefix."""
    parsed = urlparse(uri)
    key = parsed.path.lstrip("/")
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidEventError(f"{field}: must be an s3://bucket/key URI, got {uri!r}")
    if not allow_prefix and (not key or key.endswith("/")):
        raise InvalidEventError(f"{field}: must name an object (s3://bucket/key), got {uri!r}")
    return parsed.netloc, key


class LazyClients:
    """boto3 clients created on first use (so moto can intercept them), all with the retry configuration."""

    def __init__(self, factory: Callable[..., Any] = boto3.client) -> None:
        self._factory = factory
        self._clients: dict[str, Any] = {}

    def get(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._factory(service, config=RETRY_CONFIG)
        return self._clients[service]


class S3ResultsReader:
    def __init__(self, clients: LazyClients) -> None:
        self._clients = clients

    @contextmanager
    def open_text(self, location: str) -> Iterator[TextIO]:
        bucket, key = parse_s3_uri(location, field="results location")
        try:
            response = self._clients.get("s3").get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING_OBJECT_CODES:
                raise ResultsNotFoundError(f"results object not found: {location}") from error
            raise
        body = response["Body"]
        # Decoding the StreamingBody incrementally keeps memory flat whatever the object size.
        stream = io.TextIOWrapper(
            io.BufferedReader(body, buffer_size=1 << 20), encoding="utf-8-sig", newline=""
        )
        try:
            yield stream
        finally:
            stream.close()


    def list_folders(self, location: str, name_prefix: str) -> list[str]:
        bucket, prefix = parse_s3_uri(location, field="production location", allow_prefix=True)
        paginator = self._clients.get("s3").get_paginator("list_objects_v2")
        folders = []
        # The listing's Prefix is what IAM sees as s3:prefix: the role may list `as_of=` and nothing else.
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix + name_prefix, Delimiter="/"):
            folders += [f"s3://{bucket}/{common['Prefix']}" for common in page.get("CommonPrefixes", [])]
        return folders


class S3AlertsWriter:
    """Spools the CSV to a temporary file in /tmp and uploads it (multipart when large) on success."""

    def __init__(self, clients: LazyClients, temp_dir: str | None = None) -> None:
        self._clients = clients
        self._temp_dir = temp_dir

    @contextmanager
    def open_sink(self, location: str) -> Iterator[TextIO]:
        bucket, key = parse_s3_uri(location, field="alerts_output")
        handle, path = tempfile.mkstemp(prefix="accreditation_alerts-", suffix=".csv", dir=self._temp_dir)
        try:
            with open(handle, "w", encoding="utf-8", newline="") as sink:
                yield sink
            self._clients.get("s3").upload_file(
                path, bucket, key, ExtraArgs={"ContentType": "text/csv; charset=utf-8"}
            )
        finally:
            os.unlink(path)


class SnsPublisher:
    def __init__(self, clients: LazyClients, topic_arns: Mapping[str, str]) -> None:
        self._clients = clients
        self._topic_arns = dict(topic_arns)

    def publish(self, digest: Digest) -> str:
        response = self._clients.get("sns").publish(
            TopicArn=self._topic_arns[digest.topic],
            Subject=digest.subject,
            Message=digest.message,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in digest.attributes.items()
            },
        )
        return response["MessageId"]


class DynamoDbLedger:
    """Conditional writes on one item per digest (hash key `id`, TTL attribute `expiration`).

    A claim succeeds when no item exists, when the item's TTL has passed (DynamoDB deletes expired items
    lazily), or when an earlier claim was left IN_PROGRESS past its deadline (a crashed invocation).
    """

    def __init__(
        self,
        clients: LazyClients,
        table_name: str,
        run_id: str,
        ttl_seconds: int,
        in_progress_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clients = clients
        self._table_name = table_name
        self._run_id = run_id
        self._ttl_seconds = ttl_seconds
        self._in_progress_seconds = in_progress_seconds
        self._clock = clock

    @property
    def _dynamodb(self) -> Any:
        return self._clients.get("dynamodb")

    def claim(self, key: DigestKey) -> bool:
        now = int(self._clock())
        try:
            self._dynamodb.put_item(
                TableName=self._table_name,
                Item={
                    "id": {"S": key.id},
                    "status": {"S": STATUS_IN_PROGRESS},
                    "run_id": {"S": self._run_id},
                    "expiration": {"N": str(now + self._ttl_seconds)},
                    "in_progress_expiration": {"N": str(now + self._in_progress_seconds)},
                },
                ConditionExpression=(
                    "attribute_not_exists(id) OR expiration < :now"
                    " OR (#status = :in_progress AND in_progress_expiration < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":in_progress": {"S": STATUS_IN_PROGRESS},
                },
            )
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        existing = self._dynamodb.get_item(
            TableName=self._table_name, Key={"id": {"S": key.id}}, ConsistentRead=True
        ).get("Item", {})
        if existing.get("status", {}).get("S") == STATUS_IN_PROGRESS:
            raise DigestInProgressError(
                f"digest {key.id} is being published by run {existing.get('run_id', {}).get('S')}; retry"
            )
        return False

    def complete(self, key: DigestKey, message_id: str) -> None:
        self._dynamodb.update_item(
            TableName=self._table_name,
            Key={"id": {"S": key.id}},
            UpdateExpression=(
                "SET #status = :completed, message_id = :message_id REMOVE in_progress_expiration"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":completed": {"S": STATUS_COMPLETED},
                ":message_id": {"S": message_id},
            },
        )

    def release(self, key: DigestKey) -> None:
        try:
            self._dynamodb.delete_item(
                TableName=self._table_name,
                Key={"id": {"S": key.id}},
                ConditionExpression="#status = :in_progress AND run_id = :run_id",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":in_progress": {"S": STATUS_IN_PROGRESS},
                    ":run_id": {"S": self._run_id},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
