"""Cloud adapters of the report: results and earlier reports read from S3, the report written there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TextIO

import boto3
from accreditation_notifier.aws_common import RETRY_CONFIG, is_missing_object, parse_s3_uri, streamed_text
from botocore.exceptions import ClientError

from accreditation_report.model import (
    AS_OF_FOLDER_PREFIX,
    REPORT_DATA_FILE,
    ReportInputNotFoundError,
    parse_date,
)

PARALLEL_READS = 8


class LazyS3:
    """One boto3 S3 client, created on first use (so moto can intercept it), with the retry configuration."""

    def __init__(self, factory: Callable[..., Any] = boto3.client) -> None:
        self._factory = factory
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._factory("s3", config=RETRY_CONFIG)
        return self._client


class S3ReportReader:
    def __init__(self, s3: LazyS3) -> None:
        self._s3 = s3

    def _get(self, location: str) -> Any:
        bucket, key = parse_s3_uri(location, field="report input")
        try:
            return self._s3.client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as error:
            if is_missing_object(error):
                raise ReportInputNotFoundError(f"object not found: {location}") from error
            raise

    @contextmanager
    def open_text(self, location: str) -> Iterator[TextIO]:
        with streamed_text(self._get(location)) as stream:
            yield stream

    def read_text(self, location: str) -> str | None:
        try:
            body = self._get(location)
        except ReportInputNotFoundError:
            return None
        try:
            return body.read().decode("utf-8-sig")
        finally:
            body.close()

    def list_previous_report_data(self, production_root: str, as_of: dt.date, limit: int) -> list[str]:
        bucket, root = parse_s3_uri(production_root, field="production root", folder=True)
        earlier = []
        pages = self._s3.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=root + AS_OF_FOLDER_PREFIX, Delimiter="/"
        )
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                folder = common["Prefix"]
                day = parse_date(folder[len(root) + len(AS_OF_FOLDER_PREFIX) :].rstrip("/"))
                if day is not None and day < as_of:
                    earlier.append((day, folder))
        newest = sorted(earlier)[-limit:] if limit > 0 else []
        locations = [f"s3://{bucket}/{folder}{REPORT_DATA_FILE}" for _, folder in newest]
        # Up to 89 small objects: read a few at a time (a boto3 client may be shared between threads).
        with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
            texts = list(pool.map(self.read_text, locations))
        return [text for text in texts if text is not None]


class S3ReportWriter:
    def __init__(self, s3: LazyS3) -> None:
        self._s3 = s3

    def write_text(self, location: str, text: str, content_type: str) -> None:
        bucket, key = parse_s3_uri(location, field="report output")
        self._s3.client.put_object(
            Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType=content_type
        )
