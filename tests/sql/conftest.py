"""Fixtures of the SQL tests: curated `facilities` partitions written with pyarrow, served by LocalAthena."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glue_jobs.curation.schemas import FACILITY_SCHEMA, hive_columns
from pipeline.layout import FACILITIES_TABLE
from pipeline.local.athena import LocalAthena
from pipeline.settings import DEFAULT_ALERT_POLICY
from pipeline.sql_files import load_sql, stage_parameters
from pipeline.stages import Stage

ACCREDITATION = pa.struct(
    [
        pa.field("accreditation_body", pa.string()),
        pa.field("accreditation_id", pa.string()),
        pa.field("valid_until", pa.date32()),
    ]
)
LAB = pa.struct([pa.field("lab_name", pa.string()), pa.field("certifications", pa.list_(pa.string()))])

# The curated table's data columns as the Glue job writes them; snapshot_date is the partition folder.
CURATED_FACILITIES_SCHEMA = pa.schema(
    [
        pa.field("facility_id", pa.string()),
        pa.field("facility_name", pa.string()),
        pa.field("address", pa.string()),
        pa.field("city", pa.string()),
        pa.field("zip", pa.string()),
        pa.field("state", pa.string()),
        pa.field("employee_count", pa.int32()),
        pa.field("services", pa.list_(pa.string())),
        pa.field("labs", pa.list_(LAB)),
        pa.field("accreditations", pa.list_(ACCREDITATION)),
        pa.field("source_file", pa.string()),
        pa.field("source_line", pa.int64()),
    ]
)

# The columns the Glue job registers in the catalog, which Athena reads the files with.
CATALOG_COLUMNS = hive_columns(FACILITY_SCHEMA)

Accreditation = tuple[str, str, date | None]


def facility(
    facility_id: str,
    *,
    state: str = "TX",
    accreditations: Sequence[Accreditation] | None = (),
    services: Sequence[str] | None = ("Emergency Care",),
    employee_count: int | None = 100,
) -> dict:
    """One curated facility row; accreditations as (body, id, valid_until or None)."""
    return {
        "facility_id": facility_id,
        "facility_name": f"Facility {facility_id}",
        "address": "1 Main St",
        "city": "Springfield",
        "zip": "00000",
        "state": state,
        "employee_count": employee_count,
        "services": None if services is None else list(services),
        "labs": [{"lab_name": "Pathology", "certifications": ["CLIA"]}],
        "accreditations": None
        if accreditations is None
        else [
            {"accreditation_body": body, "accreditation_id": ident, "valid_until": valid_until}
            for body, ident, valid_until in accreditations
        ],
        "source_file": "raw/facilities.ndjson",
        "source_line": 1,
    }


def write_partition(table_root: Path, snapshot_date: str, rows: Sequence[dict]) -> Path:
    """Write one snapshot_date partition folder of the curated table, as Spark lays it out."""
    folder = table_root / f"snapshot_date={snapshot_date}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(list(rows), schema=CURATED_FACILITIES_SCHEMA)
    pq.write_table(table, folder / "part-00000.zstd.parquet", compression="zstd")
    return folder


@pytest.fixture
def curated_athena(tmp_path: Path) -> Callable[[Mapping[str, Sequence[dict]]], LocalAthena]:
    """Build a LocalAthena whose `facilities` table holds the given {snapshot_date: rows}."""

    def build(partitions: Mapping[str, Sequence[dict]]) -> LocalAthena:
        table_root = tmp_path / "curated" / FACILITIES_TABLE
        folders = {
            snapshot: write_partition(table_root, snapshot, rows) for snapshot, rows in partitions.items()
        }
        athena = LocalAthena()
        athena.register_table(FACILITIES_TABLE, folders, CATALOG_COLUMNS)
        return athena

    return build


def stage_rows(athena: LocalAthena, stage: Stage, *, as_of: str) -> list[dict]:
    """Rows of a query stage over the snapshot of `as_of`, as dicts of DuckDB-typed values, in order."""
    values = {
        "snapshot_date": as_of,
        "expiring_window_months": str(DEFAULT_ALERT_POLICY.expiring_window_months),
    }
    cursor = athena.execute(load_sql(stage.sql_file), stage_parameters(stage, values))
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture
def make_facility() -> Callable[..., dict]:
    """The curated row builder `facility(facility_id, *, state, accreditations, services, employee_count)`."""
    return facility


@pytest.fixture
def run_stage() -> Callable[..., list[dict]]:
    """`run_stage(athena, stage, *, as_of)`: the stage's rows over the snapshot of as_of, as dicts."""
    return stage_rows


@pytest.fixture
def partition_writer() -> Callable[[Path, str, Sequence[dict]], Path]:
    """write_partition, for tests that need the folders themselves."""
    return write_partition
