"""Cloud adapters of the notifier: S3 reader and alerts writer, SNS publisher, publication records."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from botocore.exceptions import ClientError

from accreditation_notifier.aws_common import RETRY_CONFIG, is_missing_object, parse_s3_uri, streamed_text
from accreditation_notifier.model import Digest, ResultsNotFoundError


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
            if is_missing_object(error):
                raise ResultsNotFoundError(f"results object not found: {location}") from error
            raise
        with streamed_text(response["Body"]) as stream:
            yield stream

    def list_folders(self, location: str, name_prefix: str) -> list[str]:
        bucket, prefix = parse_s3_uri(location, field="production location", folder=True)
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
