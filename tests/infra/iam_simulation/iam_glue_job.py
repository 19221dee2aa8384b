"""The curation job's AWS calls: a real run() on local PySpark whose storage and catalog calls are also made
by the job's S3 and Glue adapters against moto, under the stack's bucket and database names.

Spark's own S3 traffic (EMRFS on Glue) does not go through boto3; it is derived from what the run read and
wrote: GetObject for each input file, PutObject for each output file, ListBucket on each prefix it reads
or overwrites, DeleteObject for the committer's staging files ("Step 2: Create an IAM role for AWS Glue",
https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html, lists these actions for job data).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from iam_recording import CallRecorder, RecordedCall
from moto import mock_aws

from glue_jobs.curation.catalog import GlueCatalog, Registration
from glue_jobs.curation.options import CurationOptions
from glue_jobs.curation.run import Adapters, run
from glue_jobs.curation.schemas import FACILITIES_TABLE, PARTITION_COLUMN, RUN_COLUMN, TABLES
from glue_jobs.curation.snapshots import manifest_uri
from glue_jobs.curation.storage import LocalStorage, S3Storage, StoredObject
from pipeline.local.catalog import LocalCatalog, run_local_crawler

DATA = Path(__file__).resolve().parents[2] / "data" / "glue_jobs"
# Successive runs that use every adapter path: a first run (no table yet, so the crawler runs), a rerun
# of that as-of (deletes the earlier run's folders), a later as-of built on that snapshot (reads its
# manifest) and a rerun of it (switches the registered partition and deletes the stale one).
RUNS = (
    ("2026-12-01", "r1", ("day1.ndjson", "rejects.ndjson")),
    ("2026-12-01", "r2", ()),
    ("2026-12-02", "r3", ("day2_updates.ndjson",)),
    ("2026-12-02", "r4", ()),
)


@dataclass
class ZoneMapping:
    """A local zone folder and the stack's bucket that stands for it."""

    root: Path
    bucket: str

    def s3_uri(self, uri: str) -> str:
        relative = Path(uri).resolve().relative_to(self.root.resolve()).as_posix()
        suffix = "/" if uri.endswith("/") and relative != "." else ""
        return f"s3://{self.bucket}/" + ("" if relative == "." else relative + suffix)


@dataclass
class MirroredStorage:
    """The run's storage on local folders; each call is also made by S3Storage on moto.

    `setup` (a client nobody records) first gives moto the objects a call expects to find, so the adapter
    takes the same path it would in the cloud (a read of an existing manifest, a delete of a non-empty
    prefix).
    """

    zone: ZoneMapping
    s3: S3Storage
    setup: Any
    local: LocalStorage = field(default_factory=LocalStorage)

    def list_objects(self, prefix_uri: str) -> list[StoredObject]:
        self.s3.list_objects(self.zone.s3_uri(prefix_uri))
        return self.local.list_objects(prefix_uri)

    def read_text(self, uri: str) -> str | None:
        text = self.local.read_text(uri)
        target = self.zone.s3_uri(uri)
        if text is not None:
            self._put(target, text)
        self.s3.read_text(target)
        return text

    def write_text(self, uri: str, text: str) -> None:
        self.local.write_text(uri, text)
        self.s3.write_text(self.zone.s3_uri(uri), text)

    def delete_prefix(self, prefix_uri: str) -> int:
        target = self.zone.s3_uri(prefix_uri)
        if self.local.list_objects(prefix_uri):
            self._put(target + "part-00000.parquet", "")
        self.s3.delete_prefix(target)
        return self.local.delete_prefix(prefix_uri)

    def _put(self, uri: str, text: str) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        self.setup.put_object(Bucket=bucket, Key=key, Body=text.encode())


@dataclass
class MirroredCatalog:
    """The local file catalog for the run; each registration is also made by GlueCatalog on moto."""

    local: LocalCatalog
    glue: GlueCatalog
    curated: ZoneMapping
    setup: Any

    def register_snapshot(
        self, table: str, columns: list[dict[str, str]], snapshot_date: str, run_id: str, location: str
    ) -> Registration:
        described = self.local.read_table(table)
        if described is not None:
            self._crawled(table, described)
        self.glue.register_snapshot(table, columns, snapshot_date, run_id, self.curated.s3_uri(location))
        return self.local.register_snapshot(table, columns, snapshot_date, run_id, location)

    def _crawled(self, table: str, described: dict) -> None:
        """Create the table in moto as the crawler would have (the local crawler already did, locally)."""
        try:
            self.setup.get_table(DatabaseName=self.glue.database, Name=table)
            return
        except self.setup.exceptions.EntityNotFoundException:
            pass
        self.setup.create_table(
            DatabaseName=self.glue.database,
            TableInput={
                "Name": table,
                "StorageDescriptor": {
                    "Columns": [{"Name": c["name"], "Type": c["type"]} for c in described["columns"]],
                    "Location": f"s3://{self.curated.bucket}/{table}/",
                    "SerdeInfo": {
                        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    },
                },
                # The crawler sees snapshot_date=X/run_id=R/ folders and makes both partition keys.
                "PartitionKeys": [
                    {"Name": k, "Type": "string"} for k in (PARTITION_COLUMN, RUN_COLUMN)
                ],
            },
        )


@dataclass(frozen=True)
class SparkIo:
    """What one run's Spark jobs read and wrote, as (zone, key) pairs and prefixes."""

    reads: tuple[tuple[str, str], ...]
    read_prefixes: tuple[tuple[str, str], ...]
    writes: tuple[tuple[str, str], ...]
    written_prefixes: tuple[tuple[str, str], ...]


@dataclass
class JobRecording:
    calls: list[RecordedCall]
    spark_io: list[SparkIo]


def record_job_runs(spark: Any, root: Path, buckets: dict[str, str], database: str) -> JobRecording:
    """Run the job RUNS times on local folders under `root`; what its adapters and Spark did on AWS."""
    zones = {zone: ZoneMapping(root / zone, bucket) for zone, bucket in buckets.items()}
    for mapping in zones.values():
        mapping.root.mkdir(parents=True, exist_ok=True)
    recorder = CallRecorder()
    spark_io: list[SparkIo] = []
    with mock_aws():
        setup_s3, setup_glue = boto3.client("s3"), boto3.client("glue")
        for bucket in buckets.values():
            setup_s3.create_bucket(Bucket=bucket)
        setup_glue.create_database(DatabaseInput={"Name": database})
        s3 = S3Storage(recorder.attach(boto3.client("s3")))
        glue = GlueCatalog(database, recorder.attach(boto3.client("glue")))
        storages = {zone: MirroredStorage(mapping, s3, setup_s3) for zone, mapping in zones.items()}
        catalog = MirroredCatalog(
            LocalCatalog(f"{zones['curated'].root}/"), glue, zones["curated"], setup_glue
        )
        clock = 1_700_000_000
        for as_of, run_id, arrivals in RUNS:
            for name in arrivals:
                path = zones["raw"].root / name
                path.write_text((DATA / name).read_text(encoding="utf-8"), encoding="utf-8")
                clock += 60
                os.utime(path, (clock, clock))
            before = _files(zones)
            options = CurationOptions(
                raw_location=f"{zones['raw'].root}/",
                curated_location=f"{zones['curated'].root}/",
                quarantine_location=f"{zones['quarantine'].root}/",
                as_of=as_of,
                run_id=run_id,
                max_rejected_ratio=0.5,
            ).resolved()
            adapters = Adapters(
                catalog=catalog,
                curated=storages["curated"],
                raw=storages["raw"],
                quarantine=storages["quarantine"],
            )
            report = run(spark, options, adapters)
            if report["crawler_required"]:
                run_local_crawler(options.curated_location)
            spark_io.append(_spark_io(zones, report, before))
    return JobRecording(recorder.calls, spark_io)


def _files(zones: dict[str, ZoneMapping]) -> set[tuple[str, str]]:
    return {
        (zone, path.relative_to(mapping.root).as_posix())
        for zone, mapping in zones.items()
        for path in mapping.root.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


def _spark_io(zones: dict[str, ZoneMapping], report: dict, before: set[tuple[str, str]]) -> SparkIo:
    def key_of(zone: str, location: str) -> str:
        return zones[zone].s3_uri(location).split("/", 3)[3]

    curated = zones["curated"]
    reads = [("raw", key_of("raw", uri)) for uri in report["new_raw_files"]]
    # The issues table is read back from the written snapshot; a later as-of reads the previous one.
    read_prefixes = [("curated", key_of("curated", report["locations"][FACILITIES_TABLE]))]
    if report["base_snapshot"]:
        manifest = json.loads(
            Path(manifest_uri(f"{curated.root}/", report["base_snapshot"])).read_text(encoding="utf-8")
        )
        read_prefixes.append(
            ("curated", key_of("curated", manifest["tables"][FACILITIES_TABLE]["location"]))
        )
    written_prefixes = [
        (zone, key_of(zone, location))
        for zone, location in (
            *(("curated", report["locations"][table]) for table in TABLES),
            ("quarantine", report["locations"]["quarantine"]),
        )
        if location
    ]
    after = _files(zones)
    writes = sorted(
        (zone, key)
        for zone, key in after - before
        if any(zone == z and key.startswith(prefix) for z, prefix in written_prefixes)
    )
    # Spark lists a folder and reads its data files; Hadoop's _SUCCESS and hidden files are skipped.
    reads.extend(
        (zone, key)
        for zone, key in after
        if any(zone == z and key.startswith(prefix) for z, prefix in read_prefixes)
        and not key.rsplit("/", 1)[-1].startswith(("_", "."))
    )
    return SparkIo(tuple(reads), tuple(read_prefixes), tuple(writes), tuple(written_prefixes))
