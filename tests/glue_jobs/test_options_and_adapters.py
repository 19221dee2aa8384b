"""Job arguments via getResolvedOptions, storage and catalog adapters (S3 and Glue under moto), watermarks."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from moto import mock_aws

from glue_jobs.curation import snapshots
from glue_jobs.curation.catalog import GlueCatalog, Registration
from glue_jobs.curation.options import CurationError, CurationOptions, options_from_args, parse_arguments
from glue_jobs.curation.schemas import FACILITY_SCHEMA, hive_columns
from glue_jobs.curation.snapshots import check_conservation, new_raw_files, next_watermark
from glue_jobs.curation.storage import LocalStorage, S3Storage, StoredObject, storage_for
from pipeline.local.catalog import LocalCatalog, local_table_partitions


def test_arguments_from_a_glue_argv_with_defaults_for_absent_ones():
    argv = [
        "curate_facilities.py",
        "--JOB_NAME", "curate",
        "--JOB_RUN_ID", "jr_0123",
        "--raw_location", "s3://raw-bucket/",
        "--curated_location", "s3://curated-bucket/",
        "--quarantine_location", "s3://quarantine-bucket/",
        "--as_of", "2026-12-01",
        "--max_rejected_ratio", "0.1",
        "--rebuild", "true",
    ]  # fmt: skip
    options, glue_args = parse_arguments(argv)
    assert options == CurationOptions(
        raw_location="s3://raw-bucket/",
        curated_location="s3://curated-bucket/",
        quarantine_location="s3://quarantine-bucket/",
        as_of="2026-12-01",
        max_rejected_ratio=0.1,
        rebuild=True,
    )
    assert glue_args["JOB_NAME"] == "curate"
    resolved = options.resolved(glue_args["JOB_RUN_ID"])
    assert (resolved.run_id, resolved.as_of, resolved.database) == ("jr_0123", "2026-12-01", "")


def test_symbolic_defaults_resolve_to_today_and_the_glue_run_id():
    options = CurationOptions("s3://r/", "s3://c/", "s3://q/")
    resolved = options.resolved("jr_9", today=dt.date(2026, 12, 1))
    assert (resolved.as_of, resolved.run_id, resolved.max_rejected_ratio, resolved.rebuild) == (
        "2026-12-01",
        "jr_9",
        0.05,
        False,
    )
    assert options.resolved(None).run_id.startswith("manual-")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"as_of": "2026-02-30"}, "calendar date"),
        ({"as_of": "12/01/2026"}, "calendar date"),
        ({"max_rejected_ratio": 1.5}, "within 0..1"),
        ({"run_id": "bad/id"}, "run_id"),
        ({"raw_location": ""}, "raw_location is required"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(overrides, message):
    values = {"raw_location": "s3://r/", "curated_location": "s3://c/", "quarantine_location": "s3://q/"}
    with pytest.raises(CurationError, match=message):
        CurationOptions(**{**values, **overrides}).resolved("jr")


def test_bad_boolean_and_number_arguments():
    with pytest.raises(CurationError, match="true or false"):
        options_from_args({"rebuild": "yes"})
    with pytest.raises(CurationError, match="number"):
        options_from_args({"max_rejected_ratio": "five"})


def test_conservation_check_fails_loudly():
    check_conservation(
        "2026-12-01", input_lines=5, curated=3, quarantined=1, superseded=1, carried_forward=9
    )
    with pytest.raises(CurationError, match="row conservation violated"):
        check_conservation(
            "2026-12-01", input_lines=5, curated=3, quarantined=1, superseded=0, carried_forward=0
        )


def _obj(name: str, arrival: float) -> StoredObject:
    return StoredObject(f"s3://raw/{name}", arrival, 1)


def test_new_files_after_the_watermark_including_same_tick_arrivals():
    consumed = [_obj("a", 10), _obj("b", 20)]
    manifest = next_watermark(None, consumed)
    assert manifest == {"watermark": 20, "files_at_watermark": ["s3://raw/b"]}
    listing = [*consumed, _obj("c", 20), _obj("d", 30)]
    assert [o.uri for o in new_raw_files(listing, manifest)] == ["s3://raw/c", "s3://raw/d"]
    assert [o.uri for o in new_raw_files(listing, None)] == [f"s3://raw/{n}" for n in "abcd"]
    assert next_watermark(manifest, []) == manifest


def test_storage_for_picks_the_adapter_by_scheme():
    assert isinstance(storage_for("s3://bucket/"), S3Storage)
    assert isinstance(storage_for("/tmp/out/curated/"), LocalStorage)
    with pytest.raises(CurationError, match="unsupported location scheme"):
        storage_for("gs://bucket/")


@mock_aws
def test_s3_storage_lists_with_last_modified_and_round_trips_documents():
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="raw")
    client.put_object(Bucket="raw", Key="in/a.ndjson", Body=b"{}\n")
    client.put_object(Bucket="raw", Key="in/b.ndjson.gz", Body=b"x")
    storage = S3Storage(client)

    listed = storage.list_objects("s3://raw/in/")
    head = client.head_object(Bucket="raw", Key="in/a.ndjson")
    assert [o.uri for o in listed] == ["s3://raw/in/a.ndjson", "s3://raw/in/b.ndjson.gz"]
    assert listed[0].arrival == head["LastModified"].timestamp() and listed[0].size == 3

    report_uri = snapshots.report_uri("s3://raw/", "2026-12-01")
    assert report_uri == "s3://raw/_reports/snapshot_date=2026-12-01/curation_report.json"
    assert storage.read_text(report_uri) is None
    storage.write_text(report_uri, json.dumps({"curated": 3}))
    assert json.loads(storage.read_text(report_uri)) == {"curated": 3}
    assert storage.delete_prefix("s3://raw/in/") == 2
    assert [o.uri for o in storage.list_objects("s3://raw/")] == [report_uri]


COLUMNS = hive_columns(FACILITY_SCHEMA)


def _create_table(glue, columns, partition_keys=("snapshot_date",)):
    glue.create_table(
        DatabaseName="db",
        TableInput={
            "Name": "facilities",
            "StorageDescriptor": {
                "Columns": [{"Name": c["name"], "Type": c["type"]} for c in columns],
                "Location": "s3://curated/facilities/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                },
            },
            "PartitionKeys": [{"Name": k, "Type": "string"} for k in partition_keys],
        },
    )


@pytest.fixture
def glue():
    with mock_aws():
        client = boto3.client("glue", region_name="us-east-1")
        client.create_database(DatabaseInput={"Name": "db"})
        yield client


def test_glue_catalog_asks_for_the_crawler_when_the_table_is_missing(glue):
    result = GlueCatalog("db", glue).register_snapshot(
        "facilities", COLUMNS, "2026-12-01", "r1", "s3://c/x/"
    )
    assert result == Registration(
        "facilities", registered=False, table_exists=False, schema_changed=False
    )


def test_glue_catalog_reports_a_schema_change(glue):
    _create_table(glue, COLUMNS[:-1])
    result = GlueCatalog("db", glue).register_snapshot(
        "facilities", COLUMNS, "2026-12-01", "r1", "s3://c/x/"
    )
    assert (result.registered, result.schema_changed) == (False, True)


def test_glue_catalog_creates_then_switches_the_snapshot_partition(glue):
    _create_table(glue, COLUMNS)
    catalog = GlueCatalog("db", glue)
    first = "s3://curated/facilities/snapshot_date=2026-12-01/run_id=r1/"
    second = "s3://curated/facilities/snapshot_date=2026-12-01/run_id=r2/"

    assert catalog.register_snapshot("facilities", COLUMNS, "2026-12-01", "r1", first).registered
    catalog.register_snapshot("facilities", COLUMNS, "2026-12-01", "r2", second)

    partitions = glue.get_partitions(DatabaseName="db", TableName="facilities")["Partitions"]
    assert [(p["Values"], p["StorageDescriptor"]["Location"]) for p in partitions] == [
        (["2026-12-01"], second)
    ]
    assert partitions[0]["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith(
        "ParquetHiveSerDe"
    )


def test_glue_catalog_handles_a_crawled_run_id_partition_key(glue):
    _create_table(glue, COLUMNS, partition_keys=("snapshot_date", "run_id"))
    catalog = GlueCatalog("db", glue)
    catalog.register_snapshot("facilities", COLUMNS, "2026-12-01", "r1", "s3://c/r1/")
    catalog.register_snapshot("facilities", COLUMNS, "2026-12-01", "r2", "s3://c/r2/")
    partitions = glue.get_partitions(DatabaseName="db", TableName="facilities")["Partitions"]
    assert [p["Values"] for p in partitions] == [["2026-12-01", "r2"]]


def test_local_catalog_registers_only_existing_tables(tmp_path):
    catalog = LocalCatalog(str(tmp_path))
    assert not catalog.register_snapshot(
        "facilities", COLUMNS, "2026-12-01", "r1", str(tmp_path / "a")
    ).registered
    catalog.write_table("facilities", COLUMNS, {})
    assert catalog.register_snapshot(
        "facilities", COLUMNS, "2026-12-01", "r1", str(tmp_path / "a")
    ).registered
    assert local_table_partitions(str(tmp_path), "facilities") == {"2026-12-01": str(tmp_path / "a")}
    assert local_table_partitions(str(tmp_path), "data_quality_issues") == {}
