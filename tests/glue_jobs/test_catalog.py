"""Catalog registration of a snapshot: the Glue catalog under moto and the local catalog."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from glue_jobs.curation.catalog import GlueCatalog, Registration
from glue_jobs.curation.schemas import FACILITY_SCHEMA, hive_columns
from pipeline.local.catalog import LocalCatalog, local_table_partitions

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
