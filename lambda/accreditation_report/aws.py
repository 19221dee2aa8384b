"""Cloud adapters of the report: results and earlier reports read from S3, the report written there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TextIO

from accreditation_notifier.aws_common import LazyClients, is_missing_object, parse_s3_uri, streamed_text
from botocore.exceptions import ClientError

from accreditation_report.model import (
    AS_OF_FOLDER_PREFIX,
    REPORT_DATA_FILE,
    ReportInputNotFoundError,
    parse_date,
)

PARALLEL_READS = 8


class S3ReportReader:
    def __init__(self, clients: LazyClients) -> None:
        self._clients = clients

    def _get(self, location: str) -> Any:
        bucket, key = parse_s3_uri(location, field="report input")
        try:
            return self._clients.get("s3").get_object(Bucket=bucket, Key=key)["Body"]
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
        pages = self._clients.get("s3").get_paginator("list_objects_v2").paginate(
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
    def __init__(self, clients: LazyClients) -> None:
        self._clients = clients

    def write_text(self, location: str, text: str, content_type: str) -> None:
        bucket, key = parse_s3_uri(location, field="report output")
        self._clients.get("s3").put_object(
            Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType=content_type
        )
