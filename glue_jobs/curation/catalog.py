"""Snapshot registration: the catalog protocol and the Glue Data Catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from glue_jobs.curation.options import CurationError, CurationOptions
from glue_jobs.curation.schemas import PARTITION_COLUMN, RUN_COLUMN, same_columns


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
        if not known_keys or not same_columns(table_columns, columns):
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



def glue_catalog(options: CurationOptions) -> GlueCatalog:
    """The Glue Data Catalog database the options name; raises CurationError when they name none."""
    if not options.database:
        raise CurationError("--database is required when the curated zone is on S3")
    return GlueCatalog(options.database)
