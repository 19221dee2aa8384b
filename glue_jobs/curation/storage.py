"""Storage adapters: the protocol, local folders and S3 (arrival-time listing, small documents, cleanup)."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from glue_jobs.curation.options import CurationError


@dataclass(frozen=True)
class StoredObject:
    uri: str
    arrival: float  # seconds since the epoch: S3 LastModified, or the file's mtime
    size: int


class Storage(Protocol):
    def list_objects(self, prefix_uri: str) -> list[StoredObject]: ...

    def read_text(self, uri: str) -> str | None: ...

    def write_text(self, uri: str, text: str) -> None: ...

    def delete_prefix(self, prefix_uri: str) -> int: ...


def local_path(uri: str) -> Path:
    """The local path of a plain path or a file: URI."""
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)


class LocalStorage:
    """A folder stands in for a bucket; arrival is the file's modification time."""

    def list_objects(self, prefix_uri: str) -> list[StoredObject]:
        root = local_path(prefix_uri)
        if not root.exists():
            return []
        return [
            StoredObject(str(path.resolve()), path.stat().st_mtime, path.stat().st_size)
            for path in sorted(root.rglob("*"))
            if path.is_file()
        ]

    def read_text(self, uri: str) -> str | None:
        path = local_path(uri)
        return path.read_text(encoding="utf-8") if path.exists() else None

    def write_text(self, uri: str, text: str) -> None:
        # Write-then-rename, so a reader never sees half a document.
        path = local_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)

    def delete_prefix(self, prefix_uri: str) -> int:
        root = local_path(prefix_uri)
        if not root.exists():
            return 0
        files = [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            path.unlink()
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
            folder.rmdir()
        root.rmdir()
        return len(files)


def _split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


class S3Storage:
    """S3 through boto3 (client created lazily so tests can intercept it); arrival is LastModified."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def list_objects(self, prefix_uri: str) -> list[StoredObject]:
        bucket, prefix = _split_s3(prefix_uri)
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found.append(
                    StoredObject(
                        f"s3://{bucket}/{item['Key']}", item["LastModified"].timestamp(), item["Size"]
                    )
                )
        return found

    def read_text(self, uri: str) -> str | None:
        bucket, key = _split_s3(uri)
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return body.decode("utf-8")

    def write_text(self, uri: str, text: str) -> None:
        bucket, key = _split_s3(uri)
        self.client.put_object(
            Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType="application/json"
        )

    def delete_prefix(self, prefix_uri: str) -> int:
        bucket = _split_s3(prefix_uri)[0]
        keys = [_split_s3(o.uri)[1] for o in self.list_objects(prefix_uri)]
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            self.client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk]})
        return len(keys)


def storage_for(uri: str) -> Storage:
    """The adapter for a location's URI scheme: s3:// or a local path / file: URI."""
    scheme = urlparse(uri).scheme
    if scheme in ("s3", "s3a"):
        return S3Storage()
    if scheme in ("", "file") or re.fullmatch(r"[A-Za-z]", scheme):
        return LocalStorage()
    raise CurationError(f"unsupported location scheme {scheme!r} in {uri!r} (use s3:// or a local path)")


def join_uri(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def _is_local(uri: str) -> bool:
    return urlparse(uri).scheme in ("", "file")


def spark_path(uri: str) -> str:
    """Spark needs absolute local paths; S3 URIs pass through (Glue reads s3:// natively)."""
    return str(local_path(uri).resolve()) if _is_local(uri) else uri


def file_key(name: str) -> str:
    """Comparable form of a file name as listed by an adapter or as reported by Spark's _metadata."""
    parsed = urlparse(name)
    if parsed.scheme in ("", "file"):
        return unquote(parsed.path) if parsed.scheme else str(Path(name).resolve())
    return f"{parsed.scheme}://{parsed.netloc}/{unquote(parsed.path.lstrip('/'))}".replace("s3a://", "s3://")
