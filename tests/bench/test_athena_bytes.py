"""Athena bytes estimator: referenced columns from the SQL, their leaf chunk sizes from Parquet metadata."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.athena_bytes import (
    extrapolate,
    leaf_chunk_bytes,
    measure_snapshot,
    referenced_columns,
    scanned_bytes,
)
from pipeline.cost.prices import MIB

ROWS = 1000
COLUMNS = ["facility_id", "state", "employee_count", "services", "accreditations", "snapshot_date"]


@pytest.fixture()
def tiny_parquet(tmp_path):
    """One file, no compression and no dictionary, so an int64 chunk holds 8 bytes per row plus headers."""
    accreditation = pa.struct([("accreditation_body", pa.string()), ("valid_until", pa.date32())])
    table = pa.table(
        {
            "facility_id": pa.array([f"FAC{i:05d}" for i in range(ROWS)]),
            "state": pa.array(["TX"] * ROWS),
            "employee_count": pa.array(range(ROWS), type=pa.int64()),
            "services": pa.array([["Surgery"]] * ROWS, type=pa.list_(pa.string())),
            "accreditations": pa.array(
                [[{"accreditation_body": "NCQA", "valid_until": 20_000 + i}] for i in range(ROWS)],
                type=pa.list_(accreditation),
            ),
        }
    )
    folder = tmp_path / "snapshot_date=2026-12-01"
    folder.mkdir()
    path = folder / "part-0.parquet"
    pq.write_table(table, path, compression="none", use_dictionary=False, write_statistics=False)
    return path


def test_leaf_chunks_follow_the_written_sizes(tiny_parquet):
    leaves = leaf_chunk_bytes([tiny_parquet])
    assert set(leaves) == {
        ("facility_id",),
        ("state",),
        ("employee_count",),
        ("services",),
        ("accreditations", "accreditation_body"),
        ("accreditations", "valid_until"),
    }
    assert 8 * ROWS <= leaves[("employee_count",)] < 8 * ROWS + 200
    # date32 values are 4 bytes each; repetition/definition levels add a little.
    assert 4 * ROWS <= leaves[("accreditations", "valid_until")] < 4 * ROWS + 1000


def test_scanned_bytes_sums_exactly_the_referenced_leaves(tiny_parquet):
    leaves = leaf_chunk_bytes([tiny_parquet])
    whole = scanned_bytes({("employee_count",), ("accreditations",)}, leaves)
    assert whole == (
        leaves[("employee_count",)]
        + leaves[("accreditations", "accreditation_body")]
        + leaves[("accreditations", "valid_until")]
    )
    valid_until = ("accreditations", "valid_until")
    assert scanned_bytes({valid_until}, leaves) == leaves[valid_until]
    assert scanned_bytes({("snapshot_date",)}, leaves) == 0


def test_referenced_columns_follow_ctes_and_unnest():
    sql = """
        with snapshot as (
            select facility_id, accreditations from facilities where snapshot_date = ?
        )
        select s.facility_id, a.valid_until
        from snapshot as s
        cross join unnest(s.accreditations) as a (accreditation_body, valid_until)
    """
    assert referenced_columns(sql, COLUMNS) == {("facility_id",), ("accreditations",), ("snapshot_date",)}


def test_referenced_columns_resolve_struct_fields_and_stars():
    assert referenced_columns("select f.state, f.accreditations.valid_until from facilities f", COLUMNS) == {
        ("state",),
        ("accreditations", "valid_until"),
    }
    assert referenced_columns("select * from facilities", COLUMNS) == {(name,) for name in COLUMNS}
    assert referenced_columns("select x from other_table", COLUMNS) == set()


def test_small_snapshots_are_billed_the_athena_minimum_and_extrapolation_scales(tiny_parquet):
    scans = measure_snapshot(tiny_parquet.parent, raw_bytes=3 * MIB + 5, facilities=ROWS)
    assert {query.stage for query in scans.queries} >= {"facility_metrics", "facilities_by_state"}
    for query in scans.queries:
        assert 0 < query.curated_bytes < MIB
        assert query.curated_billed == 10 * MIB
        assert query.raw_billed == 10 * MIB
    larger = extrapolate(scans, ROWS * 1000)
    assert larger.extrapolated
    by_stage = {query.stage: query for query in scans.queries}
    for query in larger.queries:
        assert query.raw_bytes == (3 * MIB + 5) * 1000
        assert query.raw_billed == 3001 * MIB
        assert query.curated_bytes == by_stage[query.stage].curated_bytes * 1000
