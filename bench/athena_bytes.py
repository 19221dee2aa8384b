"""Bytes Athena bills per stage query: curated Parquet column chunks against full scans of the raw NDJSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from pipeline.cost.prices import athena_billed_bytes
from pipeline.sql_files import load_sql
from pipeline.stages import QUERY_STAGES

TABLE = "facilities"
# Path segments Parquet inserts for repeated fields (3-level lists, legacy lists, maps).
_CONTAINER_SEGMENTS = {"list", "element", "array", "item", "bag", "array_element", "key_value"}

ColumnPath = tuple[str, ...]


def referenced_columns(sql_text: str, table_columns: Iterable[str], table: str = TABLE) -> set[ColumnPath]:
    """Columns of `table` the query reads: ('services',) for a whole column, ('a', 'b') for field b of a.

    Only references resolved to the table itself count (columns of CTEs built on it were already
    counted where the CTE selects them). An unqualified column in a scope with several sources counts
    when the table has a column of that name, which may over-count but never under-counts.
    """
    columns = set(table_columns)
    tree = sqlglot.parse_one(sql_text, read="athena")
    found: set[ColumnPath] = set()
    for scope in traverse_scope(tree):
        table_aliases = {
            alias
            for alias, (_node, source) in scope.selected_sources.items()
            if isinstance(source, exp.Table) and source.name == table
        }
        if not table_aliases:
            continue
        single_source = len(scope.selected_sources) == 1
        if any(isinstance(item, exp.Star) for item in scope.expression.expressions):
            found.update((name,) for name in columns)
        for column in scope.columns:
            qualifier = column.table
            if isinstance(column.this, exp.Star):
                if qualifier in table_aliases or (not qualifier and single_source):
                    found.update((name,) for name in columns)
            elif qualifier in table_aliases or (not qualifier and (single_source or column.name in columns)):
                if column.name in columns:
                    found.add((column.name,))
            elif qualifier in columns and qualifier not in scope.selected_sources:
                # `struct_column.field` written against the table: only that field's chunks are read.
                found.add((qualifier, column.name))
    return found


def leaf_chunk_bytes(parquet_files: Iterable[Path]) -> dict[ColumnPath, int]:
    """Compressed bytes per leaf column (container segments dropped), summed over files and row groups."""
    totals: dict[ColumnPath, int] = {}
    for path in parquet_files:
        metadata = pq.ParquetFile(path).metadata
        for row_group in range(metadata.num_row_groups):
            group = metadata.row_group(row_group)
            for index in range(group.num_columns):
                chunk = group.column(index)
                parts = chunk.path_in_schema.split(".")
                leaf = tuple(part for part in parts if part not in _CONTAINER_SEGMENTS)
                totals[leaf] = totals.get(leaf, 0) + chunk.total_compressed_size
    return totals


def scanned_bytes(columns: Iterable[ColumnPath], leaves: Mapping[ColumnPath, int]) -> int:
    """Bytes of the leaf chunks under the referenced columns (a whole column means all its leaves)."""
    wanted = set(columns)
    return sum(
        size for leaf, size in leaves.items() if any(leaf[: len(column)] == column for column in wanted)
    )


def top_level_columns(parquet_file: Path) -> list[str]:
    return list(pq.read_schema(parquet_file).names)


@dataclass(frozen=True)
class QueryScan:
    stage: str
    columns: tuple[str, ...]  # dotted names of the referenced columns
    leaf_columns: int  # Parquet column chunks per row group the query reads
    curated_bytes: int  # referenced column chunks of the snapshot partition
    curated_billed: int  # with Athena's rounding and 10 MB minimum
    raw_bytes: int  # the seed design scans the raw NDJSON in full
    raw_billed: int

    @classmethod
    def of(
        cls, stage: str, columns: tuple[str, ...], leaf_columns: int, curated_bytes: int, raw_bytes: int
    ) -> QueryScan:
        """The scan of `curated_bytes` and `raw_bytes`, each with what Athena bills for it."""
        return cls(
            stage=stage,
            columns=columns,
            leaf_columns=leaf_columns,
            curated_bytes=curated_bytes,
            curated_billed=athena_billed_bytes(curated_bytes),
            raw_bytes=raw_bytes,
            raw_billed=athena_billed_bytes(raw_bytes),
        )

    @property
    def ratio(self) -> float:
        return self.raw_billed / self.curated_billed


@dataclass(frozen=True)
class SnapshotScans:
    facilities: int
    raw_bytes: int
    partition_bytes: int  # all Parquet files of the snapshot partition
    partition_files: int
    queries: tuple[QueryScan, ...]
    extrapolated: bool = False

    @property
    def curated_billed(self) -> int:
        return sum(query.curated_billed for query in self.queries)

    @property
    def raw_billed(self) -> int:
        return sum(query.raw_billed for query in self.queries)

    @property
    def ratio(self) -> float:
        return self.raw_billed / self.curated_billed


def partition_files(folder: Path) -> list[Path]:
    files = sorted(path for path in folder.rglob("*.parquet") if path.is_file())
    if not files:
        raise FileNotFoundError(f"no Parquet files under {folder}")
    return files


def measure_snapshot(partition_folder: Path, raw_bytes: int, facilities: int) -> SnapshotScans:
    """Per stage query: bytes Athena reads from the snapshot partition's Parquet, and from the raw file."""
    files = partition_files(partition_folder)
    leaves = leaf_chunk_bytes(files)
    table_columns = [*top_level_columns(files[0]), "snapshot_date"]
    queries = []
    for stage in QUERY_STAGES:
        assert stage.sql_file is not None
        columns = referenced_columns(load_sql(stage.sql_file), table_columns)
        curated = scanned_bytes(columns, leaves)
        leaf_count = sum(1 for leaf in leaves if any(leaf[: len(c)] == c for c in columns))
        dotted = tuple(sorted(".".join(column) for column in columns))
        queries.append(QueryScan.of(stage.name, dotted, leaf_count, curated, raw_bytes))
    return SnapshotScans(
        facilities=facilities,
        raw_bytes=raw_bytes,
        partition_bytes=sum(path.stat().st_size for path in files),
        partition_files=len(files),
        queries=tuple(queries),
    )


def extrapolate(measured: SnapshotScans, facilities: int) -> SnapshotScans:
    """Scale measured per-facility bytes to another registry size (marked as extrapolated)."""
    scale = facilities / measured.facilities
    queries = [
        QueryScan.of(
            query.stage,
            query.columns,
            query.leaf_columns,
            round(query.curated_bytes * scale),
            round(query.raw_bytes * scale),
        )
        for query in measured.queries
    ]
    return SnapshotScans(
        facilities=facilities,
        raw_bytes=round(measured.raw_bytes * scale),
        partition_bytes=round(measured.partition_bytes * scale),
        partition_files=measured.partition_files,
        queries=tuple(queries),
        extrapolated=True,
    )
