"""What the notifier's and the run report's cloud adapters share: one retry policy for their boto3
clients, s3:// locations, missing objects, and objects read as streamed text.

It lives in the notifier's package because both packages ship in one Lambda zip and the report already
imports the notifier's file contract from here. Each package creates its own clients: the IAM simulation
tells the functions' calls apart by the package whose code created the client.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import urlparse

from botocore.config import Config
from botocore.exceptions import ClientError

from accreditation_notifier.errors import InvalidEventError

# Throttling and transient errors are retried with exponential backoff; adaptive mode also slows the
# client down when a service throttles, instead of burning the attempts.
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 8}, connect_timeout=5, read_timeout=30
)
# What S3 answers for an object or bucket that is not there (404 and NotFound come from HeadObject).
MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


def parse_s3_uri(uri: str, *, field: str, folder: bool = False) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI naming an object, or with folder=True a folder (key empty or ending
    with '/'); InvalidEventError, naming the field, otherwise."""
    parsed = urlparse(uri)
    key = parsed.path.lstrip("/")
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidEventError(f"{field}: must be an s3://bucket/key URI, got {uri!r}")
    if not folder and (not key or key.endswith("/")):
        raise InvalidEventError(f"{field}: must name an object (s3://bucket/key), got {uri!r}")
    if folder and key and not key.endswith("/"):
        raise InvalidEventError(f"{field}: must name a folder (s3://bucket/prefix/), got {uri!r}")
    return parsed.netloc, key


def is_missing_object(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in MISSING_OBJECT_CODES


@contextmanager
def streamed_text(body: Any) -> Iterator[TextIO]:
    """A GetObject body as text (BOM dropped, newline=''), decoded incrementally: memory stays flat
    whatever the object size."""
    stream = io.TextIOWrapper(io.BufferedReader(body, buffer_size=1 << 20), encoding="utf-8-sig", newline="")
    try:
        yield stream
    finally:
        stream.close()
