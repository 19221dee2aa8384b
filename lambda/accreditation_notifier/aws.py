"""Cloud adapters of the notifier: S3 reader and alerts writer, SNS publisher, publication records."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import urlparse

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from botocore.config import Config
from botocore.exceptions import ClientError

from accreditation_notifier.model import (
    Digest,
    InvalidEventError,
    ResultsNotFoundError,
)

# Throttling and transient errors are retried with exponential backoff; adaptive mode also slows the
# client down when SNS or DynamoDB throttle, instead of burning the attempts.
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 8}, connect_timeout=5, read_timeout=30
)

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


def dynamodb_publication_store(clients: LazyClients, table_name: str) -> DynamoDBPersistenceLayer:
    """Powertools' DynamoDB persistence layer on the stack's table, through the retrying client.

    Its default attribute names are the table's: hash key `id`, TTL `expiration`, and `status`,
    `in_progress_expiration` and `data` (the saved response).
    """
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=clients.get("dynamodb"))
