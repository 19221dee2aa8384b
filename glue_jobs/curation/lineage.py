"""Raw text with lineage: one scan of the new files, and 1-based line numbers from per-partition counts."""

# Spark reads a file in splits whose partitions follow the file's byte order (FilePartition packs the splits
# in order, the same way on every read of the same files), and monotonically_increasing_id is contiguous
# within a partition, so 1-based line numbers come from per-(file, partition) line counts collected on the
# driver: no sort or window over the data.

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from glue_jobs.curation.options import CurationError
from glue_jobs.curation.schemas import LINE_KINDS, REASONS
from glue_jobs.curation.storage import StoredObject, file_key, spark_path
from glue_jobs.curation.transforms import parse_lines, strip_bom


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

        def literal_map(entries: dict[Any, Any]) -> Column:
            return F.create_map(*(F.lit(v) for item in entries.items() for v in item))

        uris = literal_map({k: uri for k, (uri, _) in sources.items()})
        orders = literal_map({k: order for k, (_, order) in sources.items()})
        # Keyed by a number, not by text: (partition, file order) as partition * files + order, so
        # a line costs one lookup by path (its file order) and one by number.
        starts = F.create_map(
            *(
                F.lit(v).cast("long")
                for (spark_file, partition), offset in offsets.items()
                for v in (partition * len(files) + sources[spark_file][1], offset)
            )
        )
        file_order = F.element_at(orders, F.col("spark_file")).cast("int")
        # The partition index is the upper bits of monotonically_increasing_id.
        key = F.shiftright(F.col("row_id"), 33) * len(files) + file_order.cast("long")
        lineage = [
            F.element_at(uris, F.col("spark_file")).alias("source_file"),
            file_order.alias("file_order"),
            (F.col("row_id") - F.element_at(starts, key)).cast("long").alias("source_line"),
        ]
    return parsed.select(*lineage, *(c for c in parsed.columns if c not in ("spark_file", "row_id")))
