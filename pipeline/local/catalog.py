"""The local twin's Data Catalog: a JSON file per table, and the crawler's stand-in that fills it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from glue_jobs.curation.catalog import Registration
from glue_jobs.curation.options import CurationOptions
from glue_jobs.curation.run import Adapters, adapters_for
from glue_jobs.curation.schemas import PARTITION_COLUMN, RUN_COLUMN, TABLES, same_columns
from glue_jobs.curation.snapshots import read_manifest, snapshot_dates
from glue_jobs.curation.storage import LocalStorage, join_uri, local_path


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
        if not same_columns(document["columns"], columns):
            return Registration(table, registered=False, table_exists=True, schema_changed=True)
        partitions = {**document["partitions"], snapshot_date: str(local_path(location))}
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


def local_adapters(options: CurationOptions) -> Adapters:
    """A run's adapters on local folders: each zone's storage, and the local catalog of the curated zone."""
    return adapters_for(options, LocalCatalog(options.curated_location))
