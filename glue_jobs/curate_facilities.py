"""Glue job: curate raw facility NDJSON into incremental, snapshot-partitioned Parquet plus quarantine."""

# How a run works (the same code runs on AWS Glue and in the local runner; only adapters differ):
#
# 1. List raw objects with their arrival time (S3 LastModified, or file mtime locally). The base is
#    the latest snapshot strictly earlier than as_of (none when rebuild=true); only raw files that
#    arrived after the base's watermark are read, once, as text. A run therefore reads one previous
#    snapshot plus new files: its cost does not grow with the number of earlier runs.
# 2. Count the new files' lines per input split from the text alone (for line numbers), then parse
#    each line once with an explicit schema (PERMISSIVE, corrupt-record column) and classify it:
#    blank (ignored), quarantined (with a reason), or a record. The classified lines are cached
#    while the quarantine is written, which also tallies them (observed metrics, no extra job).
# 3. Check the rejected-line ratio against the threshold before any snapshot is written. Records
#    are normalised, each carrying its field-level issues; with the previous snapshot's rows they
#    are deduplicated (latest arrival wins, then the later line): the winners of facilities that
#    arrived more than once are found from the keys alone and broadcast, so the records are never
#    shuffled.
# 4. Write the snapshot as zstd Parquet into a folder that belongs to this run only:
#    <curated>/<table>/snapshot_date=X/run_id=R/, and its data-quality issues, read back from the
#    snapshot's issue column, beside it. Nothing reads those folders yet. Check conservation:
#    non-blank input lines = curated + quarantined + superseded (else the folders are deleted).
# 5. Switch the catalog partition snapshot_date=X to the new folder (Glue UpdatePartition, or the
#    local catalog JSON written by rename). That single metadata call is the commit point: Athena
#    sees either the previous complete snapshot X or the new complete one, never a partial write.
#    When the table is missing or its schema differs, the report says crawler_required instead.
# 6. Write the snapshot manifest (watermark for the next run) and the curation report, then
#    delete folders of earlier or failed runs of the same snapshot.
#
# Guarantees and limits: a failure before step 5 leaves the catalog on the previous data; a retry
# (same or new run_id) recomputes from the same base and replaces the snapshot. A failure between
# 5 and 6 leaves correct data visible and no manifest; the retry rebuilds and switches again. A
# query already running against a folder deleted in step 6 can fail; a new query cannot. When the
# crawler is required, the crawler registers what step 6 left (exactly one run folder per snapshot).
# Line numbers: Spark reads a file in splits whose partitions follow the file's byte order
# (FilePartition packs the splits in order, the same way on every read of the same files), and
# monotonically_increasing_id is contiguous within a partition, so 1-based line numbers come from
# per-(file, partition) line counts collected on the driver: no sort or window over the data.

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

LOG = logging.getLogger("curate_facilities")

FACILITIES_TABLE = "facilities"
DATA_QUALITY_TABLE = "data_quality_issues"
TABLES = (FACILITIES_TABLE, DATA_QUALITY_TABLE)
PARTITION_COLUMN = "snapshot_date"
RUN_COLUMN = "run_id"
CORRUPT_COLUMN = "_corrupt_record"
# About 64-128 MB of zstd Parquet per file for typical facility records: large enough for Athena
# to read efficiently, small enough that a big snapshot is still written in parallel.
ROWS_PER_FILE = 500_000
# Below this many rows a core, splitting a snapshot over the cores costs more than it saves.
MIN_ROWS_PER_FILE = 50_000
# Deduplication broadcasts the winners of the facilities that arrived more than once, about 60 bytes
# each; above this many (a full re-delivery of a large registry, say) it shuffles the records instead.
MAX_BROADCAST_WINNERS = 1_000_000
ARRIVAL_LINE_BITS = 40
INT_MAX = 2_147_483_647
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Each accreditation trimmed, with valid_until as a real calendar date from strict YYYY-MM-DD text
# (else NULL). The pattern keeps out what a cast would accept leniently
# (2026-2-3, 2026-02-03T10:00, surrounding spaces, year 0); try_cast turns 2026-02-30 into NULL and
# never raises, whatever spark.sql.ansi.enabled says. SQL text because the Python Column API of
# Spark 3.5 has no try_cast.
CHECKED_ACCREDITATIONS_SQL = f"""
transform(record.accreditations, a -> named_struct(
    'accreditation_body', trim(a.accreditation_body),
    'accreditation_id', trim(a.accreditation_id),
    'valid_until', CASE WHEN a.valid_until RLIKE '{DATE_PATTERN}' AND a.valid_until >= '0001'
                        THEN try_cast(a.valid_until AS DATE) END))
"""
# JSON's insignificant whitespace (RFC 8259), as trimmed around a line before the shape checks.
JSON_WHITESPACE = " \t\r\n"
EMPLOYEE_COUNT_KEY = '"employee_count"'

REASON_INVALID_JSON = "invalid_json"
REASON_NOT_OBJECT = "not_a_json_object"
REASON_SCHEMA_MISMATCH = "schema_mismatch"
REASON_MISSING_ID = "missing_facility_id"

_STRINGS = T.StringType()
ACCREDITATION_RAW = T.StructType(
    [
        T.StructField("accreditation_body", _STRINGS),
        T.StructField("accreditation_id", _STRINGS),
        T.StructField("valid_until", _STRINGS),
    ]
)
LAB = T.StructType(
    [T.StructField("lab_name", _STRINGS), T.StructField("certifications", T.ArrayType(_STRINGS))]
)
# Scalars are read as strings: Spark renders any JSON token as text for a string field, so a wrong
# type never turns a whole line into a corrupt record; the typed checks happen afterwards.
RAW_SCHEMA = T.StructType(
    [
        T.StructField("facility_id", _STRINGS),
        T.StructField("facility_name", _STRINGS),
        T.StructField(
            "location",
            T.StructType([T.StructField(name, _STRINGS) for name in ("address", "city", "state", "zip")]),
        ),
        T.StructField("employee_count", _STRINGS),
        T.StructField("services", T.ArrayType(_STRINGS)),
        T.StructField("labs", T.ArrayType(LAB)),
        T.StructField("accreditations", T.ArrayType(ACCREDITATION_RAW)),
        T.StructField(CORRUPT_COLUMN, _STRINGS),
    ]
)
KNOWN_FIELDS = tuple(f.name for f in RAW_SCHEMA.fields if f.name != CORRUPT_COLUMN)
JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}

ISSUE = T.StructType([T.StructField(name, _STRINGS) for name in ("field", "issue", "raw_value")])
ACCREDITATION = T.StructType(
    [
        T.StructField("accreditation_body", _STRINGS),
        T.StructField("accreditation_id", _STRINGS),
        T.StructField("valid_until", T.DateType()),
    ]
)
FACILITY_SCHEMA = T.StructType(
    [
        T.StructField("facility_id", _STRINGS),
        T.StructField("facility_name", _STRINGS),
        T.StructField("address", _STRINGS),
        T.StructField("city", _STRINGS),
        T.StructField("state", _STRINGS),
        T.StructField("zip", _STRINGS),
        T.StructField("employee_count", T.IntegerType()),
        T.StructField("services", T.ArrayType(_STRINGS)),
        T.StructField("labs", T.ArrayType(LAB)),
        T.StructField("accreditations", T.ArrayType(ACCREDITATION)),
        T.StructField("data_quality_issues", T.ArrayType(ISSUE)),
        T.StructField("source_file", _STRINGS),
        T.StructField("source_line", T.LongType()),
    ]
)
DATA_QUALITY_SCHEMA = T.StructType(
    [
        T.StructField("facility_id", _STRINGS),
        T.StructField("source_file", _STRINGS),
        T.StructField("source_line", T.LongType()),
        T.StructField("field", _STRINGS),
        T.StructField("issue", _STRINGS),
        T.StructField("raw_value", _STRINGS),
    ]
)
TABLE_SCHEMAS = {FACILITIES_TABLE: FACILITY_SCHEMA, DATA_QUALITY_TABLE: DATA_QUALITY_SCHEMA}
FACILITY_COLUMNS = tuple(FACILITY_SCHEMA.fieldNames())


def _is_calendar_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


class CurationError(RuntimeError):
    """A run refused or failed for a reason an operator can act on; the message says which."""


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurationOptions:
    """Job arguments; every one has a default so a console "Run job" without overrides works."""

    raw_location: str = ""
    curated_location: str = ""
    quarantine_location: str = ""
    as_of: str = "today"
    run_id: str = "manual"
    max_rejected_ratio: float = 0.05
    database: str = ""
    rebuild: bool = False
    # Where the run's counts go as CloudWatch metrics (the stack sets both; empty: no metric lines).
    metrics_namespace: str = ""
    metrics_stack: str = ""

    def resolved(self, job_run_id: str | None = None, today: dt.date | None = None) -> CurationOptions:
        """Replace the symbolic defaults ("today", "manual") and validate; raises CurationError."""
        for name in ("raw_location", "curated_location", "quarantine_location"):
            if not getattr(self, name):
                raise CurationError(f"--{name} is required (the zone root, e.g. s3://bucket/)")
        as_of = self.as_of.strip().lower()
        if as_of == "today":
            as_of = (today or dt.datetime.now(dt.UTC).date()).isoformat()
        elif not _is_calendar_date(as_of):
            raise CurationError(f"--as_of must be a calendar date YYYY-MM-DD or 'today', got {self.as_of!r}")
        run_id = self.run_id.strip()
        if run_id in ("", "manual"):
            run_id = job_run_id or f"manual-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", run_id):
            raise CurationError(f"--run_id may only contain letters, digits, '_', '.', '-', got {run_id!r}")
        if not 0 <= self.max_rejected_ratio <= 1:
            raise CurationError(f"--max_rejected_ratio must be within 0..1, got {self.max_rejected_ratio}")
        return dataclasses.replace(self, as_of=as_of, run_id=run_id)


_OPTION_FIELDS = {f.name: f for f in dataclasses.fields(CurationOptions)}


def options_from_args(resolved_args: dict[str, Any]) -> CurationOptions:
    """Typed options from a getResolvedOptions dict; unknown keys (JOB_NAME, ...) are ignored."""
    values: dict[str, Any] = {}
    for name, field in _OPTION_FIELDS.items():
        raw = resolved_args.get(name)
        if raw is None:
            continue
        if field.type in ("bool", bool):
            text = str(raw).strip().lower()
            if text not in ("true", "false"):
                raise CurationError(f"--{name} must be true or false, got {raw!r}")
            values[name] = text == "true"
        elif field.type in ("float", float):
            try:
                values[name] = float(raw)
            except ValueError:
                raise CurationError(f"--{name} must be a number, got {raw!r}") from None
        else:
            values[name] = str(raw)
    return CurationOptions(**values)


def parse_arguments(argv: Sequence[str]) -> tuple[CurationOptions, dict[str, Any]]:
    """Options plus getResolvedOptions' dict (JOB_NAME, JOB_RUN_ID); absent options keep defaults."""
    from awsglue.utils import getResolvedOptions

    # getResolvedOptions makes every listed option required, so only ask for those present.
    present = [name for name in (*_OPTION_FIELDS, "JOB_NAME") if f"--{name}" in argv]
    resolved = getResolvedOptions(list(argv), present)
    return options_from_args(resolved), resolved


# --------------------------------------------------------------------------------------------
# Storage adapters (raw listing with arrival times, small JSON documents, cleanup)
# --------------------------------------------------------------------------------------------


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


def _local_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)


class LocalStorage:
    """A folder stands in for a bucket; arrival is the file's modification time."""

    def list_objects(self, prefix_uri: str) -> list[StoredObject]:
        root = _local_path(prefix_uri)
        if not root.exists():
            return []
        return [
            StoredObject(str(path.resolve()), path.stat().st_mtime, path.stat().st_size)
            for path in sorted(root.rglob("*"))
            if path.is_file()
        ]

    def read_text(self, uri: str) -> str | None:
        path = _local_path(uri)
        return path.read_text(encoding="utf-8") if path.exists() else None

    def write_text(self, uri: str, text: str) -> None:
        # Write-then-rename, so a reader never sees half a document.
        path = _local_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)

    def delete_prefix(self, prefix_uri: str) -> int:
        root = _local_path(prefix_uri)
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
    return str(_local_path(uri).resolve()) if _is_local(uri) else uri


def file_key(name: str) -> str:
    """Comparable form of a file name as listed by an adapter or as reported by Spark's _metadata."""
    parsed = urlparse(name)
    if parsed.scheme in ("", "file"):
        return unquote(parsed.path) if parsed.scheme else str(Path(name).resolve())
    return f"{parsed.scheme}://{parsed.netloc}/{unquote(parsed.path.lstrip('/'))}".replace("s3a://", "s3://")


def _is_raw_data_file(obj: StoredObject, root: str) -> bool:
    relative = obj.uri[len(root.rstrip("/")) :] if obj.uri.startswith(root.rstrip("/")) else obj.uri
    # Hidden and underscore names (_SUCCESS, .tmp-*) are tool bookkeeping, not arrivals.
    return not any(part.startswith((".", "_")) for part in relative.split("/") if part)


# --------------------------------------------------------------------------------------------
# Snapshot manifests and reports (bookkeeping under `_` keys, outside the table roots)
# --------------------------------------------------------------------------------------------


def manifest_uri(curated_location: str, snapshot_date: str) -> str:
    return join_uri(curated_location, "_snapshots", f"{PARTITION_COLUMN}={snapshot_date}", "manifest.json")


def report_uri(curated_location: str, snapshot_date: str) -> str:
    """Where the curation report of as-of X lives; the state machine computes it from X alone."""
    return join_uri(
        curated_location, "_reports", f"{PARTITION_COLUMN}={snapshot_date}", "curation_report.json"
    )


def summary_uri(curated_location: str, snapshot_date: str) -> str:
    """Where the state machine's bounded summary of as-of X's run lives (computed from X alone)."""
    return join_uri(curated_location, "_reports", f"{PARTITION_COLUMN}={snapshot_date}", SUMMARY_FILE)


# The state machine reads the summary into its execution state, where a payload may not exceed 256 KiB
# ("Quotas related to state throttling... Maximum input or output size for a task, state, or execution:
# 256 KiB"); the full report lists every newly arrived raw file and can be far larger. Every field of
# the summary is a count, a flag or one location, so its size does not grow with the input.
SUMMARY_FILE = "curation_summary.json"
SUMMARY_FIELDS = (
    "snapshot_date",
    "run_id",
    "base_snapshot",
    "facilities",
    "input_lines",
    "curated",
    "carried_forward",
    "quarantined",
    "superseded",
    "data_quality_issues",
    "unknown_fields",
    "rejected_ratio",
    "crawler_required",
    "first_run",
    "schema_changed",
    "report_location",
)
MAX_SUMMARY_BYTES = 4096


def curation_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The bounded part of a curation report that the state machine reads (see SUMMARY_FIELDS)."""
    summary = {name: report[name] for name in SUMMARY_FIELDS}
    summary["new_raw_files"] = len(report["new_raw_files"])
    summary["quarantine_location"] = report["locations"]["quarantine"]
    if len(json.dumps(summary).encode("utf-8")) > MAX_SUMMARY_BYTES:
        raise CurationError(f"curation summary exceeds {MAX_SUMMARY_BYTES} bytes: {summary}")
    return summary


def run_location(root: str, table: str | None, snapshot_date: str, run_id: str) -> str:
    parts = [table] if table else []
    return join_uri(root, *parts, f"{PARTITION_COLUMN}={snapshot_date}", f"{RUN_COLUMN}={run_id}") + "/"


def snapshot_dates(storage: Storage, curated_location: str) -> list[str]:
    """Snapshot dates with a committed manifest, ascending."""
    pattern = re.compile(rf"/_snapshots/{PARTITION_COLUMN}=(\d{{4}}-\d{{2}}-\d{{2}})/manifest\.json$")
    listing = storage.list_objects(join_uri(curated_location, "_snapshots"))
    return sorted({m.group(1) for o in listing if (m := pattern.search(o.uri))})


def read_manifest(storage: Storage, curated_location: str, snapshot_date: str) -> dict[str, Any]:
    text = storage.read_text(manifest_uri(curated_location, snapshot_date))
    if text is None:
        raise CurationError(f"manifest of snapshot {snapshot_date} is missing under {curated_location}")
    return json.loads(text)


def new_raw_files(
    listing: Iterable[StoredObject], base_manifest: dict[str, Any] | None
) -> list[StoredObject]:
    """Raw files that arrived after the base snapshot's watermark, in arrival order (then name).

    Files arriving in the same clock tick as the watermark are compared by name against the
    ones the base already consumed, so equal timestamps never lose or repeat a file.
    """
    ordered = sorted(listing, key=lambda o: (o.arrival, o.uri))
    if base_manifest is None or base_manifest.get("watermark") is None:
        return ordered
    watermark = base_manifest["watermark"]
    seen = set(base_manifest.get("files_at_watermark", []))
    return [o for o in ordered if o.arrival > watermark or (o.arrival == watermark and o.uri not in seen)]


def next_watermark(base_manifest: dict[str, Any] | None, consumed: Sequence[StoredObject]) -> dict[str, Any]:
    watermark = base_manifest.get("watermark") if base_manifest else None
    at_watermark = list(base_manifest.get("files_at_watermark", [])) if base_manifest else []
    for obj in consumed:
        if watermark is None or obj.arrival > watermark:
            watermark, at_watermark = obj.arrival, [obj.uri]
        elif obj.arrival == watermark:
            at_watermark.append(obj.uri)
    return {"watermark": watermark, "files_at_watermark": sorted(set(at_watermark))}


# --------------------------------------------------------------------------------------------
# Catalog adapters
# --------------------------------------------------------------------------------------------


def hive_columns(schema: T.StructType) -> list[dict[str, str]]:
    return [{"name": f.name, "type": f.dataType.simpleString()} for f in schema.fields]


def _normalized_type(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _same_columns(left: Sequence[dict[str, str]], right: Sequence[dict[str, str]]) -> bool:
    def key(columns: Sequence[dict[str, str]]) -> list[tuple[str, str]]:
        return [(c["name"].lower(), _normalized_type(c["type"])) for c in columns]

    return key(left) == key(right)


@dataclass(frozen=True)
class Registration:
    """Outcome of registering one table's snapshot partition."""

    table: str
    registered: bool
    table_exists: bool
    schema_changed: bool


class Catalog(Protocol):
    def register_snapshot(
        self, table: str, columns: list[dict[str, str]], snapshot_date: str, run_id: str, location: str
    ) -> Registration: ...


class GlueCatalog:
    """The Glue Data Catalog: registers the snapshot partition itself when the table is up to date."""

    def __init__(self, database: str, client: Any = None) -> None:
        self.database = database
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("glue")
        return self._client

    def register_snapshot(
        self, table: str, columns: list[dict[str, str]], snapshot_date: str, run_id: str, location: str
    ) -> Registration:
        try:
            described = self.client.get_table(DatabaseName=self.database, Name=table)["Table"]
        except self.client.exceptions.EntityNotFoundException:
            return Registration(table, registered=False, table_exists=False, schema_changed=False)
        descriptor = described["StorageDescriptor"]
        keys = [k["Name"] for k in described.get("PartitionKeys", [])]
        table_columns = [{"name": c["Name"], "type": c["Type"]} for c in descriptor.get("Columns", [])]
        # A crawler that saw run folders adds run_id as a second partition key; both layouts work.
        key_values = {PARTITION_COLUMN: snapshot_date, RUN_COLUMN: run_id}
        known_keys = PARTITION_COLUMN in keys and not set(keys) - set(key_values)
        if not known_keys or not _same_columns(table_columns, columns):
            return Registration(table, registered=False, table_exists=True, schema_changed=True)
        values = [key_values[k] for k in keys]
        partition_input = {
            "Values": values,
            "StorageDescriptor": {**_partition_descriptor(descriptor), "Location": location},
        }
        existing = self._snapshot_partitions(table, keys, snapshot_date)
        if values in existing:
            self.client.update_partition(
                DatabaseName=self.database,
                TableName=table,
                PartitionValueList=values,
                PartitionInput=partition_input,
            )
        else:
            self.client.create_partition(
                DatabaseName=self.database, TableName=table, PartitionInput=partition_input
            )
        stale = [v for v in existing if v != values]
        if stale:
            self.client.batch_delete_partition(
                DatabaseName=self.database,
                TableName=table,
                PartitionsToDelete=[{"Values": v} for v in stale],
            )
        return Registration(table, registered=True, table_exists=True, schema_changed=False)

    def _snapshot_partitions(self, table: str, keys: list[str], snapshot_date: str) -> list[list[str]]:
        found = []
        paginator = self.client.get_paginator("get_partitions")
        expression = f"{PARTITION_COLUMN} = '{snapshot_date}'"
        for page in paginator.paginate(DatabaseName=self.database, TableName=table, Expression=expression):
            found.extend(p["Values"] for p in page["Partitions"])
        return found


def _partition_descriptor(table_descriptor: dict[str, Any]) -> dict[str, Any]:
    allowed = (
        "Columns",
        "InputFormat",
        "OutputFormat",
        "Compressed",
        "SerdeInfo",
        "Parameters",
        "StoredAsSubDirectories",
    )
    return {k: table_descriptor[k] for k in allowed if k in table_descriptor}


class LocalCatalog:
    """A file catalog for the local runner: <curated>/_catalog/<table>.json.

    Document: {"table", "columns": [{"name", "type"}], "partition_keys": ["snapshot_date"],
    "partitions": {"YYYY-MM-DD": "<folder of that snapshot's Parquet files>", or a list of folders}}.
    Data files hold no partition column (Hive layout); readers add snapshot_date from the partition key.
    """

    def __init__(self, curated_location: str) -> None:
        self.curated_location = curated_location
        self.storage = LocalStorage()

    def document_uri(self, table: str) -> str:
        return join_uri(self.curated_location, "_catalog", f"{table}.json")

    def read_table(self, table: str) -> dict[str, Any] | None:
        text = self.storage.read_text(self.document_uri(table))
        return json.loads(text) if text else None

    def write_table(
        self, table: str, columns: list[dict[str, str]], partitions: dict[str, str | list[str]]
    ) -> None:
        document = {
            "table": table,
            "columns": columns,
            "partition_keys": [PARTITION_COLUMN],
            "partitions": dict(sorted(partitions.items())),
        }
        self.storage.write_text(self.document_uri(table), json.dumps(document, indent=2) + "\n")

    def table_partitions(self, table: str) -> dict[str, str | list[str]]:
        document = self.read_table(table)
        return dict(document["partitions"]) if document else {}

    def register_snapshot(
        self, table: str, columns: list[dict[str, str]], snapshot_date: str, run_id: str, location: str
    ) -> Registration:
        document = self.read_table(table)
        if document is None:
            return Registration(table, registered=False, table_exists=False, schema_changed=False)
        if not _same_columns(document["columns"], columns):
            return Registration(table, registered=False, table_exists=True, schema_changed=True)
        partitions = {**document["partitions"], snapshot_date: str(_local_path(location))}
        self.write_table(table, document["columns"], partitions)
        return Registration(table, registered=True, table_exists=True, schema_changed=False)


def local_table_partitions(curated_location: str, table: str) -> dict[str, str | list[str]]:
    """{snapshot_date: folder (or folders) of Parquet files} of a local catalog table ({} when none)."""
    return LocalCatalog(curated_location).table_partitions(table)


def run_local_crawler(curated_location: str) -> list[str]:
    """The crawler's local stand-in: (re)register both tables from the run folders it finds.

    As Glue's crawler does, every `snapshot_date=X/run_id=R/` folder holding data files becomes part of
    partition X, whether a manifest references it or not (so a folder left behind reads twice, as in
    Athena); a partition value then maps to the list of its folders when there are several. Columns
    come from the newest manifest, the schema the job wrote the files with. Returns the tables registered.
    """
    storage = LocalStorage()
    catalog = LocalCatalog(curated_location)
    manifests = [
        read_manifest(storage, curated_location, d) for d in snapshot_dates(storage, curated_location)
    ]
    run_folder = re.compile(rf"/{PARTITION_COLUMN}=(\d{{4}}-\d{{2}}-\d{{2}})/{RUN_COLUMN}=[^/]+$")
    registered = []
    for table in TABLES:
        entries = [m for m in manifests if table in m.get("tables", {})]
        if not entries:
            continue
        found: dict[str, set[str]] = {}
        for obj in storage.list_objects(join_uri(curated_location, table)):
            folder = str(Path(obj.uri).parent)
            if obj.uri.endswith(".parquet") and (match := run_folder.search(folder)):
                found.setdefault(match.group(1), set()).add(folder)
        partitions = {
            snapshot: folders.pop() if len(folders) == 1 else sorted(folders)
            for snapshot, folders in found.items()
        }
        catalog.write_table(table, entries[-1]["tables"][table]["columns"], partitions)
        registered.append(table)
    return registered


def catalog_for(options: CurationOptions) -> Catalog:
    if options.database:
        return GlueCatalog(options.database)
    if _is_local(options.curated_location):
        return LocalCatalog(options.curated_location)
    raise CurationError("--database is required when the curated zone is on S3")


# --------------------------------------------------------------------------------------------
# Pure transforms
# --------------------------------------------------------------------------------------------


def strip_bom(value: Column) -> Column:
    # A prefix test on the UTF-8 bytes, not a regex: a regex decodes every line to a Java string.
    return F.when(value.startswith("\ufeff"), value.substr(2, INT_MAX)).otherwise(value)


def parse_lines(lines: DataFrame) -> DataFrame:
    """Parse raw lines (`value`); adds record, employee_count_long, reason, line_kind, unknown_fields.

    line_kind is "blank", "quarantined" (reason set) or "record"; unknown_fields lists the top-level
    fields of a record that the schema does not know (NULL for other lines).
    """
    # Every check here runs on every line, so the common case costs byte comparisons only: a line
    # that starts with "{" and ends with "}" needs no trimming (Spark's trim with a character set
    # allocates per call), and no regex (which decodes the whole line to a Java string).
    value = F.col("value")
    braced = value.startswith("{") & value.endswith("}")
    stripped = F.btrim(value, F.lit(JSON_WHITESPACE))  # evaluated only where braced is false
    record = F.from_json(value, RAW_SCHEMA, JSON_OPTIONS)
    # employee_count is parsed as text, where the JSON number 250 and the string "250" look alike;
    # only a number counts, so the raw line must show the number right after the key's colon.
    # Reading the line a second time with a LongType schema would tell the same, at a second parse.
    count_text = F.col("record.employee_count")
    parsed = lines.withColumn("record", record).withColumn(
        "employee_count_long",
        F.when(
            count_text.rlike(r"^-?[0-9]{1,18}$") & _is_json_number(value, EMPLOYEE_COUNT_KEY, count_text),
            count_text.cast("long"),
        ),
    )
    blank = ~braced & (stripped == "")
    corrupt = F.col(f"record.{CORRUPT_COLUMN}").isNotNull()
    looks_like_object = braced | (stripped.startswith("{") & stripped.endswith("}"))
    facility_id = F.trim(F.col("record.facility_id"))
    # get_json_object only runs for corrupt lines: it tells valid JSON of the wrong shape from broken text.
    valid_json = F.get_json_object(value, "$").isNotNull()
    reason = (
        F.when(blank, F.lit(None))
        .when(~braced & ~stripped.startswith("{") & valid_json, F.lit(REASON_NOT_OBJECT))
        .when(~looks_like_object, F.lit(REASON_INVALID_JSON))
        .when(corrupt & valid_json, F.lit(REASON_SCHEMA_MISMATCH))
        .when(corrupt, F.lit(REASON_INVALID_JSON))
        .when(facility_id.isNull() | (facility_id == ""), F.lit(REASON_MISSING_ID))
    )
    kind = (
        F.when(blank, F.lit("blank"))
        .when(F.col("reason").isNotNull(), F.lit("quarantined"))
        .otherwise(F.lit("record"))
    )
    known = F.array(*(F.lit(name) for name in KNOWN_FIELDS))
    # array_except, not a filter lambda: lambdas are interpreted row by row, this one per key.
    # (Its set semantics lose nothing: the keys of one JSON object are distinct.)
    unknown = F.when(F.col("line_kind") == "record", F.array_except(F.json_object_keys(value), known))
    return (
        parsed.withColumn("reason", reason)
        .withColumn("line_kind", kind)
        .withColumn("unknown_fields", unknown)
    )


def _is_json_number(line: Column, key: str, text: Column) -> Column:
    """Whether the raw line gives the quoted `key` the JSON number `text` (not the string "text").

    One byte search per usual spelling ("key":250 and "key": 250), each stopping where it finds the
    key; the regex, which decodes the whole line, runs only where neither matches: a quoted value
    (rare, it is an issue) or a colon spaced some other way.
    """
    usual = line.contains(F.concat(F.lit(f"{key}:"), text)) | line.contains(F.concat(F.lit(f"{key}: "), text))
    return usual | line.rlike(re.escape(key) + r"\s*:\s*-?[0-9]")


def quarantine_records(parsed: DataFrame, run_id: str, snapshot_date: str) -> DataFrame:
    """One row per rejected line, in the quarantine JSON-lines shape."""
    return parsed.where(F.col("line_kind") == "quarantined").select(
        "reason",
        "source_file",
        F.col("source_line").alias("line_number"),
        F.col("value").alias("raw_line"),
        F.lit(run_id).alias("run_id"),
        F.lit(snapshot_date).alias("snapshot_date"),
    )


def curate_records(parsed: DataFrame) -> DataFrame:
    """Normalise accepted records to the curated columns (plus `file_order` for deduplication).

    Each record carries its field-level problems in data_quality_issues, so the issues travel with
    the record through deduplication and carrying forward, and need no join of their own.
    """
    record = F.col("record")
    state = F.upper(F.trim(record["location"]["state"]))
    count = F.col("employee_count_long")
    trimmed_services = F.transform(record["services"], lambda s: F.trim(s))
    services = F.filter(trimmed_services, lambda s: s.isNotNull() & (s != ""))
    # valid_until is parsed once per accreditation; the curated value and its issue both use it.
    checked = parsed.where(F.col("line_kind") == "record").withColumn(
        "_accreditations", F.expr(CHECKED_ACCREDITATIONS_SQL)
    )
    accreditations = F.col("_accreditations")
    return checked.select(
        F.trim(record["facility_id"]).alias("facility_id"),
        F.trim(record["facility_name"]).alias("facility_name"),
        F.trim(record["location"]["address"]).alias("address"),
        F.trim(record["location"]["city"]).alias("city"),
        F.when(state.isNull() | (state == ""), F.lit("UNKNOWN")).otherwise(state).alias("state"),
        F.trim(record["location"]["zip"]).alias("zip"),
        F.when(count.between(0, INT_MAX), count.cast("int")).alias("employee_count"),
        F.coalesce(F.array_distinct(services), F.array().cast(T.ArrayType(_STRINGS))).alias("services"),
        record["labs"].alias("labs"),
        accreditations.cast(T.ArrayType(ACCREDITATION)).alias("accreditations"),
        _record_issues(record, count, accreditations).alias("data_quality_issues"),
        "source_file",
        F.col("source_line").cast("long").alias("source_line"),
        "file_order",
    )


def _record_issues(record: Column, count: Column, accreditations: Column) -> Column:
    """The record's field-level issues: a bad employee_count, and each missing or invalid valid_until.

    `accreditations` are the curated ones: a NULL valid_until there marks a missing or invalid date.
    """
    raw_count = record["employee_count"]
    count_issue = (
        F.when(raw_count.isNull(), F.lit("missing"))
        .when(count.isNull(), F.lit("not_an_integer"))
        .when(count < 0, F.lit("negative"))
        .when(count > INT_MAX, F.lit("out_of_range"))
    )
    count_issues = F.when(
        count_issue.isNotNull(), F.array(_issue(F.lit("employee_count"), count_issue, raw_count))
    )

    def date_issue(pair: Column, position: Column) -> Column:
        raw = pair["raw"]
        issue = F.when(raw.isNull(), F.lit("missing")).when(
            pair["parsed"].isNull(), F.lit("not_a_calendar_date")
        )
        field = F.format_string("accreditations[%d].valid_until", position)
        return F.when(issue.isNotNull(), _issue(field, issue, raw))

    dates = accreditations["valid_until"]
    pairs = F.arrays_zip(record["accreditations"]["valid_until"].alias("raw"), dates.alias("parsed"))
    # Lambdas are interpreted row by row; most records have only good dates, which this
    # array-level test (codegen, and keeps a NULL when both sides hold one) lets skip them.
    has_null_date = F.size(F.array_intersect(dates, F.array(F.lit(None).cast("date")))) > 0
    date_issues = F.when(has_null_date, F.filter(F.transform(pairs, date_issue), lambda i: i.isNotNull()))
    none = F.array().cast(T.ArrayType(ISSUE))
    return F.concat(F.coalesce(count_issues, none), F.coalesce(date_issues, none))


def _issue(field: Column, issue: Column, raw_value: Column) -> Column:
    return F.struct(field.alias("field"), issue.alias("issue"), raw_value.alias("raw_value"))


def data_quality_issues(facilities: DataFrame) -> DataFrame:
    """One row per issue of the given curated rows, in the data_quality_issues table's shape."""
    exploded = facilities.select(
        "facility_id", "source_file", "source_line", F.explode("data_quality_issues").alias("issue")
    )
    return exploded.select("facility_id", "source_file", "source_line", "issue.*")


def with_previous(curated: DataFrame, previous: DataFrame | None) -> DataFrame:
    """New records plus the previous snapshot's rows, which lose to any new record of their facility.

    Previous rows get file_order -1 (new files count from 0), so one deduplication both picks the
    latest new record and carries forward the facilities that received none.
    """
    if previous is None:
        return curated
    carried = previous.select(*FACILITY_COLUMNS, F.lit(-1).cast("int").alias("file_order"))
    return curated.unionByName(carried)


def latest_records(candidates: DataFrame, partitions: int | None = None) -> DataFrame:
    """One row per facility_id: the latest arrival wins (file order, then line). Keeps `file_order`.

    With `partitions`, the rows are first hash-partitioned by facility_id into that many
    partitions, which the window reuses: one shuffle yields both the deduplication and the files.
    """
    if partitions is not None:
        candidates = candidates.repartition(partitions, "facility_id")
    latest_first = Window.partitionBy("facility_id").orderBy(arrival().desc())
    ranked = candidates.withColumn("_rank", F.row_number().over(latest_first))
    return ranked.where(F.col("_rank") == 1).drop("_rank")


def unknown_field_counts(parsed: DataFrame) -> DataFrame:
    """Top-level fields of accepted records that the schema does not know: (field, occurrences)."""
    return parsed.select(F.explode("unknown_fields").alias("field")).groupBy("field").count()


def snapshot_files(spark: SparkSession, row_count: int) -> int:
    """How many files a snapshot of about row_count rows is written as.

    About ROWS_PER_FILE rows a file, but at least one per core once there are MIN_ROWS_PER_FILE
    rows a core: the files are written by as many tasks, and deduplication runs in them too.
    """
    by_size = math.ceil(row_count / ROWS_PER_FILE)
    by_cores = min(spark.sparkContext.defaultParallelism, row_count // MIN_ROWS_PER_FILE)
    return max(1, by_size, by_cores)


def arrival() -> Column:
    """file_order and source_line as one comparable long: the later file wins, then the later line.

    Previous rows (file_order -1) come before every new one. Holds up to 2^40 lines a file.
    """
    return F.col("file_order").cast("long") * (1 << ARRIVAL_LINE_BITS) + F.col("source_line")


def duplicate_winners(candidates: DataFrame) -> DataFrame:
    """facility_id and winning_arrival of every facility with more than one candidate row.

    Only the key and a long are shuffled, not the records; usually few facilities qualify (the
    updates of a day), so the result is small enough to broadcast.
    """
    return (
        candidates.groupBy("facility_id")
        .agg(F.count(F.lit(1)).alias("rows"), F.max(arrival()).alias("winning_arrival"))
        .where(F.col("rows") > 1)
        .select("facility_id", "winning_arrival")
    )


def without_superseded(candidates: DataFrame, winners: DataFrame) -> DataFrame:
    """The candidates minus the rows a later row of the same facility supersedes (see latest_records).

    winners (from duplicate_winners) is broadcast, so every task filters its own rows in place:
    the records are never shuffled or sorted.
    """
    joined = candidates.join(F.broadcast(winners), "facility_id", "left")
    survives = F.col("winning_arrival").isNull() | (arrival() == F.col("winning_arrival"))
    return joined.where(survives).drop("winning_arrival")


# --------------------------------------------------------------------------------------------
# Reading raw text with lineage
# --------------------------------------------------------------------------------------------


def scan_raw_lines(spark: SparkSession, files: Sequence[StoredObject]) -> DataFrame:
    """Raw lines of the files, read once as text (gz by extension): spark_file, row_id, value (no BOM)."""
    if not files:
        return spark.createDataFrame([], "spark_file string, row_id long, value string")
    return spark.read.text([spark_path(f.uri) for f in files]).select(
        F.col("_metadata.file_path").alias("spark_file"),
        F.monotonically_increasing_id().alias("row_id"),
        strip_bom(F.col("value")).alias("value"),
    )


def staged_lines(scanned: DataFrame) -> DataFrame:
    """The parse as the run caches it: the raw text is kept only where quarantine needs it."""
    parsed = parse_lines(scanned)
    return parsed.withColumn("value", F.when(F.col("line_kind") == "quarantined", F.col("value")))


def partition_line_counts(scanned: DataFrame) -> DataFrame:
    """Lines per (spark_file, partition) with the partition's first row_id, from the text alone.

    No parse: a cheap job before the real pass, which then numbers lines as it goes.
    """
    return scanned.groupBy("spark_file", F.shiftright(F.col("row_id"), 33).alias("partition")).agg(
        F.min("row_id").alias("first_row"), F.count(F.lit(1)).alias("lines")
    )


def line_offsets(count_rows: Iterable[Any]) -> dict[tuple[str, int], int]:
    """(spark_file, partition) -> row_id minus the 1-based line number of that row.

    Line numbers continue across the partitions of one file, in their byte order.
    """
    offsets = {}
    next_line: dict[str, int] = {}
    for row in sorted(count_rows, key=lambda r: (r["spark_file"], r["first_row"])):
        first_line = next_line.get(row["spark_file"], 1)
        offsets[(row["spark_file"], row["partition"])] = row["first_row"] - first_line
        next_line[row["spark_file"]] = first_line + row["lines"]
    return offsets


LINE_KINDS = ("blank", "quarantined", "record")
REASONS = (REASON_INVALID_JSON, REASON_NOT_OBJECT, REASON_SCHEMA_MISMATCH, REASON_MISSING_ID)


def line_tally(parsed: DataFrame, observation: Observation) -> DataFrame:
    """The frame unchanged, observed: lines of each kind, quarantined lines of each reason, and
    records with fields the schema does not know (`drifted`)."""
    kinds = [F.count_if(F.col("line_kind") == kind).alias(kind) for kind in LINE_KINDS]
    reasons = [F.count_if(F.col("reason") == reason).alias(reason) for reason in REASONS]
    drifted = F.count_if(F.size("unknown_fields") > 0).alias("drifted")
    return parsed.observe(observation, *kinds, *reasons, drifted)


def number_lines(
    parsed: DataFrame, files: Sequence[StoredObject], offsets: dict[tuple[str, int], int]
) -> DataFrame:
    """Replace spark_file/row_id by source_file, file_order and the 1-based source_line.

    Map literals of a few entries per file, so numbering needs neither a join nor another job.
    """
    by_key = {file_key(f.uri): (f.uri, order) for order, f in enumerate(files)}
    sources: dict[str, tuple[str, int]] = {}
    for spark_file, _ in offsets:
        match = by_key.get(file_key(spark_file))
        if match is None:
            raise CurationError(f"Spark read {spark_file!r}, which is not among the listed raw files")
        sources[spark_file] = match
    if not offsets:
        lineage = [
            F.lit(None).cast("string").alias("source_file"),
            F.lit(None).cast("int").alias("file_order"),
            F.lit(None).cast("long").alias("source_line"),
        ]
    else:

        def literal_map(entries: dict[str, Any]) -> Column:
            return F.create_map(*(F.lit(v) for item in entries.items() for v in item))

        uris = literal_map({k: uri for k, (uri, _) in sources.items()})
        orders = literal_map({k: order for k, (_, order) in sources.items()})
        starts = literal_map(
            {f"{partition}|{spark_file}": offset for (spark_file, partition), offset in offsets.items()}
        )
        # The partition index is the upper bits of monotonically_increasing_id.
        key = F.concat_ws("|", F.shiftright(F.col("row_id"), 33).cast("string"), F.col("spark_file"))
        lineage = [
            F.element_at(uris, F.col("spark_file")).alias("source_file"),
            F.element_at(orders, F.col("spark_file")).cast("int").alias("file_order"),
            (F.col("row_id") - F.element_at(starts, key)).cast("long").alias("source_line"),
        ]
    return parsed.select(*lineage, *(c for c in parsed.columns if c not in ("spark_file", "row_id")))


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def run(
    spark: SparkSession,
    options: CurationOptions,
    catalog: Catalog | None = None,
    storage: Storage | None = None,
    quarantine_storage: Storage | None = None,
    raw_storage: Storage | None = None,
) -> dict[str, Any]:
    """Build the as-of snapshot, write it and its side outputs, register it; returns the curation report.

    `options` must be resolved (see CurationOptions.resolved). Raises CurationError when the run is
    refused (earlier as_of without rebuild), the rejected ratio exceeds the threshold, or the
    conservation check fails; nothing new becomes visible in the catalog in those cases.
    """
    with observed_metrics_kept(spark):
        return _run(spark, options, catalog, storage, quarantine_storage, raw_storage)


# Spark 3.5 loses a query's observed metrics when adaptive execution replaces a stage that produced
# no rows by an empty relation; Observation.get then waits forever. The run's counts are observed
# metrics, so that one rule is off while it runs (adaptive execution otherwise stays as configured).
EMPTY_RELATION_RULE = "org.apache.spark.sql.execution.adaptive.AQEPropagateEmptyRelation"
EXCLUDED_RULES = "spark.sql.adaptive.optimizer.excludedRules"


@contextmanager
def observed_metrics_kept(spark: SparkSession) -> Iterator[None]:
    before = spark.conf.get(EXCLUDED_RULES, None)
    rules = [rule for rule in (before or "").split(",") if rule]
    spark.conf.set(EXCLUDED_RULES, ",".join([*rules, EMPTY_RELATION_RULE]))
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(EXCLUDED_RULES)
        else:
            spark.conf.set(EXCLUDED_RULES, before)


def _run(
    spark: SparkSession,
    options: CurationOptions,
    catalog: Catalog | None,
    storage: Storage | None,
    quarantine_storage: Storage | None,
    raw_storage: Storage | None,
) -> dict[str, Any]:
    as_of, run_id, curated = options.as_of, options.run_id, options.curated_location
    storage = storage or storage_for(curated)
    raw_storage = raw_storage or storage_for(options.raw_location)
    quarantine_storage = quarantine_storage or storage_for(options.quarantine_location)
    catalog = catalog or catalog_for(options)

    existing = snapshot_dates(storage, curated)
    if existing and as_of < existing[-1] and not options.rebuild:
        raise CurationError(
            f"as_of {as_of} is earlier than the latest snapshot {existing[-1]}; refusing to rewrite history. "
            "Rerun with rebuild=true (--rebuild locally) to rebuild that snapshot from all raw files."
        )
    earlier = [d for d in existing if d < as_of]
    base_date = None if options.rebuild or not earlier else earlier[-1]
    base = read_manifest(storage, curated, base_date) if base_date else None

    raw_root = options.raw_location
    listing = [o for o in raw_storage.list_objects(raw_root) if _is_raw_data_file(o, raw_root)]
    arrived = new_raw_files(listing, base)
    # Line numbers first, from a count of the text alone; then the one parse of the new raw text,
    # cached while the quarantine is written (which also tallies the lines), and read once more
    # from memory by the deduplication.
    scanned = scan_raw_lines(spark, arrived)
    offsets = line_offsets(partition_line_counts(scanned).collect())
    lines = number_lines(staged_lines(scanned), arrived, offsets).cache()

    tally = Observation("line_tally")
    quarantine_location = run_location(options.quarantine_location, None, as_of, run_id)
    # Written even when the threshold fails below: the rejected lines are what an operator needs to see.
    quarantine = quarantine_records(line_tally(lines, tally), run_id, as_of)
    quarantine.repartition(1).write.mode("overwrite").json(spark_path(quarantine_location))
    counted = tally.get
    reasons = {reason: counted[reason] for reason in REASONS if counted[reason]}
    blank_lines, quarantined, records = counted["blank"], counted["quarantined"], counted["record"]
    input_lines = records + quarantined

    rejected_ratio = quarantined / input_lines if input_lines else 0.0
    if rejected_ratio > options.max_rejected_ratio:
        lines.unpersist()
        raise CurationError(
            f"{quarantined} of {input_lines} input lines rejected ({rejected_ratio:.2%}), above the "
            f"max_rejected_ratio of {options.max_rejected_ratio:.2%}; snapshot {as_of} not published. "
            f"Rejected lines with reasons: {quarantine_location} (by reason: {reasons})"
        )
    # Counted by field only when some record has unknown fields at all (rare: no job otherwise).
    drift = {}
    if counted["drifted"]:
        drift = {row["field"]: row["count"] for row in unknown_field_counts(lines).collect()}
    if drift:
        LOG.warning(json.dumps({"event": "schema_drift", "snapshot_date": as_of, "unknown_fields": drift}))

    previous = None
    previous_facilities = 0
    if base is not None:
        previous = spark.read.schema(FACILITY_SCHEMA).parquet(
            spark_path(base["tables"][FACILITIES_TABLE]["location"])
        )
        previous_facilities = int(base.get("facilities") or 0)
    # Counted while writing (observed metrics), not by extra jobs: the new records that entered the
    # deduplication, and the snapshot's rows split into new winners and carried-forward ones.
    entered, written = Observation("deduplicated_records"), Observation("snapshot_rows")
    is_new = F.col("file_order") >= 0
    candidates = with_previous(curate_records(lines), previous)
    files = snapshot_files(spark, previous_facilities + records)
    winners = duplicate_winners(candidates).cache()
    observed = candidates.observe(entered, F.count_if(is_new).alias("records"))
    if winners.count() <= MAX_BROADCAST_WINNERS:
        snapshot = without_superseded(observed, winners).coalesce(files)
    else:
        snapshot = latest_records(observed, partitions=files)
    snapshot = snapshot.observe(written, F.count(F.lit(1)).alias("rows"), F.count_if(is_new).alias("new"))
    locations = {table: run_location(curated, table, as_of, run_id) for table in TABLES}
    _write_parquet(snapshot.select(*FACILITY_COLUMNS), locations[FACILITIES_TABLE])
    winners.unpersist()
    lines.unpersist()
    facilities, curated_count = written.get["rows"], written.get["new"]
    carried_forward = facilities - curated_count
    superseded = entered.get["records"] - curated_count

    # The issues table is the written snapshot's issue column, read back: only the few columns it
    # needs, and exactly the rows of the snapshot (new winners and carried-forward facilities alike).
    issue_rows = Observation("issue_rows")
    written_snapshot = spark.read.schema(FACILITY_SCHEMA).parquet(spark_path(locations[FACILITIES_TABLE]))
    issues = data_quality_issues(written_snapshot).observe(issue_rows, F.count(F.lit(1)).alias("rows"))
    _write_parquet(issues, locations[DATA_QUALITY_TABLE])
    issue_count = issue_rows.get["rows"]
    try:
        check_conservation(
            as_of,
            input_lines=input_lines,
            curated=curated_count,
            quarantined=quarantined,
            superseded=superseded,
            carried_forward=carried_forward,
        )
    except CurationError:
        # Only this run's private folders hold the rows; the catalog still points at the previous data.
        for location in locations.values():
            storage.delete_prefix(location)
        raise

    registrations = [
        catalog.register_snapshot(table, hive_columns(TABLE_SCHEMAS[table]), as_of, run_id, locations[table])
        for table in TABLES
    ]
    first_run = not registrations[0].table_exists
    schema_changed = any(r.schema_changed for r in registrations)
    crawler_required = not all(r.registered for r in registrations)

    arrived_uris = [o.uri for o in arrived]
    manifest = {
        "snapshot_date": as_of,
        "run_id": run_id,
        "base_snapshot": base_date,
        "new_raw_files": arrived_uris,
        **next_watermark(base, arrived),
        "tables": {
            table: {"location": locations[table], "columns": hive_columns(TABLE_SCHEMAS[table])}
            for table in TABLES
        },
        "facilities": facilities,
        "quarantine_location": quarantine_location if quarantined else None,
    }
    storage.write_text(manifest_uri(curated, as_of), json.dumps(manifest, indent=2) + "\n")
    if crawler_required:
        # The crawler registers every run folder it finds as a partition; one that no manifest references
        # (left by a run that failed before its clean-up) would double that snapshot's rows in Athena.
        for table in TABLES:
            remove_unreferenced_runs(storage, curated, table)

    report = {
        "snapshot_date": as_of,
        "run_id": run_id,
        "base_snapshot": base_date,
        "rebuild": options.rebuild,
        "new_raw_files": arrived_uris,
        "input_lines": input_lines,
        "blank_lines": blank_lines,
        "curated": curated_count,
        "carried_forward": carried_forward,
        "quarantined": quarantined,
        "superseded": superseded,
        "facilities": facilities,
        "data_quality_issues": issue_count,
        "unknown_fields": sum(drift.values()),
        "schema_drift": dict(sorted(drift.items())),
        "quarantine_reasons": dict(sorted(reasons.items())),
        "rejected_ratio": rejected_ratio,
        "crawler_required": crawler_required,
        "first_run": first_run,
        "schema_changed": schema_changed,
        "locations": {**locations, "quarantine": quarantine_location if quarantined else None},
        "report_location": report_uri(curated, as_of),
    }
    storage.write_text(report_uri(curated, as_of), json.dumps(report, indent=2) + "\n")
    storage.write_text(summary_uri(curated, as_of), json.dumps(curation_summary(report), indent=2) + "\n")

    _remove_other_runs(storage, join_uri(curated, FACILITIES_TABLE), as_of, run_id)
    _remove_other_runs(storage, join_uri(curated, DATA_QUALITY_TABLE), as_of, run_id)
    kept_quarantine = run_id if quarantined else None
    _remove_other_runs(quarantine_storage, options.quarantine_location, as_of, kept_quarantine)
    LOG.info(json.dumps({"event": "curation_report", **report}))
    return report


def _write_parquet(frame: DataFrame, location: str) -> None:
    frame.write.mode("overwrite").option("compression", "zstd").parquet(spark_path(location))


def check_conservation(snapshot_date: str, **counts: int) -> None:
    """Log the line accounting and fail when input != curated + quarantined + superseded."""
    event = {"event": "conservation", "snapshot_date": snapshot_date, **counts}
    LOG.info(json.dumps(event))
    accounted = counts["curated"] + counts["quarantined"] + counts["superseded"]
    if counts["input_lines"] != accounted or min(counts.values()) < 0:
        raise CurationError(
            f"row conservation violated, snapshot {snapshot_date} not published: input_lines "
            f"{counts['input_lines']} != curated + quarantined + superseded ({accounted}): {event}"
        )


def remove_unreferenced_runs(storage: Storage, curated_location: str, table: str) -> list[str]:
    """Delete the run folders of `table` that no committed manifest points at; returns their prefixes."""
    referenced = set()
    for snapshot_date in snapshot_dates(storage, curated_location):
        tables = read_manifest(storage, curated_location, snapshot_date).get("tables", {})
        if table in tables:
            referenced.add(file_key(tables[table]["location"]).rstrip("/"))
    folder = re.compile(rf"^(.*/{PARTITION_COLUMN}=[^/]+/{RUN_COLUMN}=[^/]+)/")
    listing = storage.list_objects(join_uri(curated_location, table))
    found = {m.group(1) for o in listing if (m := folder.match(o.uri))}
    unreferenced = sorted(prefix for prefix in found if file_key(prefix) not in referenced)
    for prefix in unreferenced:
        LOG.warning(json.dumps({"event": "unreferenced_run_removed", "table": table, "location": prefix}))
        storage.delete_prefix(prefix + "/")
    return unreferenced


def _remove_other_runs(storage: Storage, root: str, snapshot_date: str, keep_run_id: str | None) -> None:
    """Delete run folders of this snapshot other than keep_run_id (earlier or failed runs)."""
    partition = join_uri(root, f"{PARTITION_COLUMN}={snapshot_date}")
    folder = re.compile(rf"^(.*/{RUN_COLUMN}=([^/]+))/")
    stale = {
        m.group(1)
        for o in storage.list_objects(partition)
        if (m := folder.match(o.uri)) and m.group(2) != keep_run_id
    }
    for prefix in sorted(stale):
        storage.delete_prefix(prefix + "/")


# The run's counts as CloudWatch metrics, one Embedded Metric Format line printed by main(): Glue 5 sends the
# script's stdout to the job's `output` log group, and CloudWatch Logs extracts EMF events from any log group,
# so the job needs no cloudwatch:PutMetricData. Metric name -> (report field, CloudWatch unit).
CURATION_METRICS = {
    "InputLines": ("input_lines", "Count"),
    "CuratedFacilities": ("curated", "Count"),
    "QuarantinedLines": ("quarantined", "Count"),
    "QuarantineRatio": ("rejected_ratio", "None"),
    "DataQualityIssues": ("data_quality_issues", "Count"),
    "UnknownFields": ("unknown_fields", "Count"),
    "SnapshotFacilities": ("facilities", "Count"),
}
METRICS_STACK_DIMENSION = "Stack"


def curation_metrics_line(report: dict[str, Any], *, namespace: str, stack: str, timestamp_ms: int) -> str:
    """One EMF log event (a single JSON line, nothing around it) carrying CURATION_METRICS from `report`."""
    document = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [[METRICS_STACK_DIMENSION]],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in CURATION_METRICS.items()],
                }
            ],
        },
        METRICS_STACK_DIMENSION: stack,
        **{name: report[field] for name, (field, _) in CURATION_METRICS.items()},
        "snapshot_date": report["snapshot_date"],
        "run_id": report["run_id"],
    }
    return json.dumps(document, separators=(",", ":"))


def main() -> None:
    """Glue entry point: arguments, GlueContext/Job, run, metrics, commit."""
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from pyspark.context import SparkContext

    logging.basicConfig(level=logging.INFO)
    options, glue_args = parse_arguments(sys.argv)
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(glue_args.get("JOB_NAME") or "curate_facilities", glue_args)
    report = run(glue_context.spark_session, options.resolved(glue_args.get("JOB_RUN_ID")))
    print(json.dumps(report))
    if options.metrics_namespace:
        now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        line = curation_metrics_line(
            report, namespace=options.metrics_namespace, stack=options.metrics_stack, timestamp_ms=now_ms
        )
        print(line, flush=True)
    job.commit()


if __name__ == "__main__":
    main()
