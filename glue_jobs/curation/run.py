"""The curation run in named phases: plan the run, stage the new lines, write the snapshot, publish."""

# How a run works (the same code runs on AWS Glue and in the local runner; only adapters differ). Step 1 is
# plan_run, steps 2-3 stage_new_lines, steps 3-4 write_snapshot, steps 5-6 publish:
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

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from glue_jobs.curation.catalog import Catalog, Registration
from glue_jobs.curation.lineage import (
    line_offsets,
    line_tally,
    number_lines,
    partition_line_counts,
    scan_raw_lines,
    staged_lines,
)
from glue_jobs.curation.options import CurationError, CurationOptions
from glue_jobs.curation.schemas import (
    DATA_QUALITY_TABLE,
    FACILITIES_TABLE,
    FACILITY_COLUMNS,
    FACILITY_SCHEMA,
    REASONS,
    TABLE_SCHEMAS,
    TABLES,
    hive_columns,
)
from glue_jobs.curation.snapshots import (
    check_conservation,
    curation_summary,
    manifest_uri,
    new_raw_files,
    next_watermark,
    raw_data_files,
    read_manifest,
    remove_other_runs,
    remove_unreferenced_runs,
    report_uri,
    run_location,
    snapshot_dates,
    summary_uri,
)
from glue_jobs.curation.storage import Storage, StoredObject, join_uri, spark_path, storage_for
from glue_jobs.curation.transforms import (
    curate_records,
    data_quality_issues,
    duplicate_winners,
    latest_records,
    quarantine_records,
    snapshot_files,
    unknown_field_counts,
    with_previous,
    without_superseded,
)

LOG = logging.getLogger("curate_facilities")
# Deduplication broadcasts the winners of the facilities that arrived more than once, about 60 bytes
# each; above this many (a full re-delivery of a large registry, say) it shuffles the records instead.
MAX_BROADCAST_WINNERS = 1_000_000
# Spark 3.5 loses a query's observed metrics when adaptive execution replaces a stage that produced
# no rows by an empty relation; Observation.get then waits forever. The run's counts are observed
# metrics, so that one rule is off while it runs (adaptive execution otherwise stays as configured).
EMPTY_RELATION_RULE = "org.apache.spark.sql.execution.adaptive.AQEPropagateEmptyRelation"
EXCLUDED_RULES = "spark.sql.adaptive.optimizer.excludedRules"


@dataclass(frozen=True)
class Adapters:
    """What a run reads and writes through: the catalog and the curated, raw and quarantine zones."""

    catalog: Catalog
    curated: Storage
    raw: Storage
    quarantine: Storage


def adapters_for(options: CurationOptions, catalog: Catalog) -> Adapters:
    """The given catalog, with each zone's storage chosen by its location's URI scheme."""
    return Adapters(
        catalog=catalog,
        curated=storage_for(options.curated_location),
        raw=storage_for(options.raw_location),
        quarantine=storage_for(options.quarantine_location),
    )


@dataclass(frozen=True)
class RunPlan:
    """What the run builds on: the base snapshot (none on a first run or a rebuild) and the new raw files."""

    base_date: str | None
    base: dict[str, Any] | None
    arrived: list[StoredObject]


@dataclass(frozen=True)
class StagedLines:
    """The new lines, numbered, parsed and cached, with their tally; their quarantine already written."""

    lines: DataFrame
    quarantine_location: str
    blank_lines: int
    quarantined: int
    records: int
    reasons: dict[str, int]
    drift: dict[str, int]

    @property
    def input_lines(self) -> int:
        return self.records + self.quarantined

    @property
    def rejected_ratio(self) -> float:
        return self.quarantined / self.input_lines if self.input_lines else 0.0


@dataclass(frozen=True)
class WrittenSnapshot:
    """This run's private folders per table, and the counts of what was written there."""

    locations: dict[str, str]
    facilities: int
    curated: int
    carried_forward: int
    superseded: int
    data_quality_issues: int


def run(spark: SparkSession, options: CurationOptions, adapters: Adapters) -> dict[str, Any]:
    """Build the as-of snapshot, write it and its side outputs, register it; returns the curation report.

    `options` must be resolved (see CurationOptions.resolved). Raises CurationError when the run is
    refused (earlier as_of without rebuild), the rejected ratio exceeds the threshold, or the
    conservation check fails; nothing new becomes visible in the catalog in those cases.
    """
    with observed_metrics_kept(spark):
        plan = plan_run(options, adapters)
        staged = stage_new_lines(spark, options, plan)
        written = write_snapshot(spark, options, adapters, plan, staged)
        return publish(options, adapters, plan, staged, written)


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


def plan_run(options: CurationOptions, adapters: Adapters) -> RunPlan:
    """The base (the latest snapshot before as_of) and the raw files that arrived after its watermark."""
    as_of, curated = options.as_of, options.curated_location
    existing = snapshot_dates(adapters.curated, curated)
    if existing and as_of < existing[-1] and not options.rebuild:
        raise CurationError(
            f"as_of {as_of} is earlier than the latest snapshot {existing[-1]}; refusing to rewrite history. "
            "Rerun with rebuild=true (--rebuild locally) to rebuild that snapshot from all raw files."
        )
    earlier = [d for d in existing if d < as_of]
    base_date = None if options.rebuild or not earlier else earlier[-1]
    base = read_manifest(adapters.curated, curated, base_date) if base_date else None
    listing = raw_data_files(adapters.raw, options.raw_location)
    return RunPlan(base_date, base, new_raw_files(listing, base))


def stage_new_lines(spark: SparkSession, options: CurationOptions, plan: RunPlan) -> StagedLines:
    """Number, parse and cache the new lines and write their quarantine; refuse too many rejected lines."""
    # Line numbers first, from a count of the text alone; then the one parse of the new raw text,
    # cached while the quarantine is written (which also tallies the lines), and read once more
    # from memory by the deduplication.
    scanned = scan_raw_lines(spark, plan.arrived)
    offsets = line_offsets(partition_line_counts(scanned).collect())
    lines = number_lines(staged_lines(scanned), plan.arrived, offsets).cache()

    tally = Observation("line_tally")
    quarantine_location = run_location(options.quarantine_location, None, options.as_of, options.run_id)
    # Written even when the threshold fails below: the rejected lines are what an operator needs to see.
    quarantine = quarantine_records(line_tally(lines, tally), options.run_id, options.as_of)
    quarantine.repartition(1).write.mode("overwrite").json(spark_path(quarantine_location))
    counted = tally.get
    staged = StagedLines(
        lines,
        quarantine_location,
        blank_lines=counted["blank"],
        quarantined=counted["quarantined"],
        records=counted["record"],
        reasons={reason: counted[reason] for reason in REASONS if counted[reason]},
        drift={},
    )
    if staged.rejected_ratio > options.max_rejected_ratio:
        lines.unpersist()
        raise CurationError(_rejected_message(options, staged))
    if not counted["drifted"]:
        return staged
    # Counted by field only when some record has unknown fields at all (rare: no job otherwise).
    drift = {row["field"]: row["count"] for row in unknown_field_counts(lines).collect()}
    if drift:
        event = {"event": "schema_drift", "snapshot_date": options.as_of, "unknown_fields": drift}
        LOG.warning(json.dumps(event))
    return dataclasses.replace(staged, drift=drift)


def _rejected_message(options: CurationOptions, staged: StagedLines) -> str:
    return (
        f"{staged.quarantined} of {staged.input_lines} input lines rejected ({staged.rejected_ratio:.2%}), "
        f"above the max_rejected_ratio of {options.max_rejected_ratio:.2%}; snapshot {options.as_of} not "
        f"published. Rejected lines with reasons: {staged.quarantine_location} (by reason: {staged.reasons})"
    )


def write_snapshot(
    spark: SparkSession, options: CurationOptions, adapters: Adapters, plan: RunPlan, staged: StagedLines
) -> WrittenSnapshot:
    """Write the snapshot and its issues into this run's folders; delete them if conservation fails."""
    as_of, run_id = options.as_of, options.run_id
    locations = {table: run_location(options.curated_location, table, as_of, run_id) for table in TABLES}
    counts = _write_facilities(spark, plan, staged, locations[FACILITIES_TABLE])
    issue_count = _write_issues(spark, locations)
    written = WrittenSnapshot(locations, **counts, data_quality_issues=issue_count)
    try:
        check_conservation(
            as_of,
            input_lines=staged.input_lines,
            curated=written.curated,
            quarantined=staged.quarantined,
            superseded=written.superseded,
            carried_forward=written.carried_forward,
        )
    except CurationError:
        # Only this run's private folders hold the rows; the catalog still points at the previous data.
        for location in locations.values():
            adapters.curated.delete_prefix(location)
        raise
    return written


def _write_facilities(
    spark: SparkSession, plan: RunPlan, staged: StagedLines, location: str
) -> dict[str, int]:
    """Deduplicate the new records with the base snapshot's rows and write the winners; their counts."""
    previous = None
    previous_facilities = 0
    if plan.base is not None:
        previous = spark.read.schema(FACILITY_SCHEMA).parquet(
            spark_path(plan.base["tables"][FACILITIES_TABLE]["location"])
        )
        previous_facilities = int(plan.base.get("facilities") or 0)
    # Counted while writing (observed metrics), not by extra jobs: the new records that entered the
    # deduplication, and the snapshot's rows split into new winners and carried-forward ones.
    entered, written = Observation("deduplicated_records"), Observation("snapshot_rows")
    is_new = F.col("file_order") >= 0
    candidates = with_previous(curate_records(staged.lines), previous)
    files = snapshot_files(spark, previous_facilities + staged.records)
    winners = duplicate_winners(candidates).cache()
    observed = candidates.observe(entered, F.count_if(is_new).alias("records"))
    if winners.count() <= MAX_BROADCAST_WINNERS:
        snapshot = without_superseded(observed, winners).coalesce(files)
    else:
        snapshot = latest_records(observed, partitions=files)
    snapshot = snapshot.observe(written, F.count(F.lit(1)).alias("rows"), F.count_if(is_new).alias("new"))
    _write_parquet(snapshot.select(*FACILITY_COLUMNS), location)
    winners.unpersist()
    staged.lines.unpersist()
    facilities, curated = written.get["rows"], written.get["new"]
    return {
        "facilities": facilities,
        "curated": curated,
        "carried_forward": facilities - curated,
        "superseded": entered.get["records"] - curated,
    }


def _write_issues(spark: SparkSession, locations: dict[str, str]) -> int:
    """Write the issues table from the written snapshot's issue column, read back; returns its rows.

    Only the few columns it needs, and exactly the rows of the snapshot (new winners and carried-forward
    facilities alike).
    """
    issue_rows = Observation("issue_rows")
    written_snapshot = spark.read.schema(FACILITY_SCHEMA).parquet(spark_path(locations[FACILITIES_TABLE]))
    issues = data_quality_issues(written_snapshot).observe(issue_rows, F.count(F.lit(1)).alias("rows"))
    _write_parquet(issues, locations[DATA_QUALITY_TABLE])
    return issue_rows.get["rows"]


def _write_parquet(frame: DataFrame, location: str) -> None:
    frame.write.mode("overwrite").option("compression", "zstd").parquet(spark_path(location))


def publish(
    options: CurationOptions, adapters: Adapters, plan: RunPlan, staged: StagedLines, written: WrittenSnapshot
) -> dict[str, Any]:
    """Switch the catalog to this run's folders, commit the manifest, write the report, clean up."""
    as_of, run_id, curated = options.as_of, options.run_id, options.curated_location
    registrations = [
        adapters.catalog.register_snapshot(
            table, hive_columns(TABLE_SCHEMAS[table]), as_of, run_id, written.locations[table]
        )
        for table in TABLES
    ]
    crawler_required = not all(r.registered for r in registrations)
    manifest = _manifest(options, plan, staged, written)
    adapters.curated.write_text(manifest_uri(curated, as_of), json.dumps(manifest, indent=2) + "\n")
    if crawler_required:
        # The crawler registers every run folder it finds as a partition; one that no manifest references
        # (left by a run that failed before its clean-up) would double that snapshot's rows in Athena.
        for table in TABLES:
            remove_unreferenced_runs(adapters.curated, curated, table)
    report = _report(options, plan, staged, written, registrations)
    adapters.curated.write_text(report_uri(curated, as_of), json.dumps(report, indent=2) + "\n")
    summary = curation_summary(report)
    adapters.curated.write_text(summary_uri(curated, as_of), json.dumps(summary, indent=2) + "\n")

    remove_other_runs(adapters.curated, join_uri(curated, FACILITIES_TABLE), as_of, run_id)
    remove_other_runs(adapters.curated, join_uri(curated, DATA_QUALITY_TABLE), as_of, run_id)
    kept_quarantine = run_id if staged.quarantined else None
    remove_other_runs(adapters.quarantine, options.quarantine_location, as_of, kept_quarantine)
    LOG.info(json.dumps({"event": "curation_report", **report}))
    return report


def _manifest(
    options: CurationOptions, plan: RunPlan, staged: StagedLines, written: WrittenSnapshot
) -> dict[str, Any]:
    """The snapshot's manifest: its tables' locations and columns, and the watermark for the next run."""
    return {
        "snapshot_date": options.as_of,
        "run_id": options.run_id,
        "base_snapshot": plan.base_date,
        "new_raw_files": [o.uri for o in plan.arrived],
        **next_watermark(plan.base, plan.arrived),
        "tables": {
            table: {"location": written.locations[table], "columns": hive_columns(TABLE_SCHEMAS[table])}
            for table in TABLES
        },
        "facilities": written.facilities,
        "quarantine_location": staged.quarantine_location if staged.quarantined else None,
    }


def _report(
    options: CurationOptions,
    plan: RunPlan,
    staged: StagedLines,
    written: WrittenSnapshot,
    registrations: list[Registration],
) -> dict[str, Any]:
    """The curation report: what the run read, wrote, quarantined and registered."""
    quarantine = staged.quarantine_location if staged.quarantined else None
    return {
        "snapshot_date": options.as_of,
        "run_id": options.run_id,
        "base_snapshot": plan.base_date,
        "rebuild": options.rebuild,
        "new_raw_files": [o.uri for o in plan.arrived],
        "input_lines": staged.input_lines,
        "blank_lines": staged.blank_lines,
        "curated": written.curated,
        "carried_forward": written.carried_forward,
        "quarantined": staged.quarantined,
        "superseded": written.superseded,
        "facilities": written.facilities,
        "data_quality_issues": written.data_quality_issues,
        "unknown_fields": sum(staged.drift.values()),
        "schema_drift": dict(sorted(staged.drift.items())),
        "quarantine_reasons": dict(sorted(staged.reasons.items())),
        "rejected_ratio": staged.rejected_ratio,
        "crawler_required": not all(r.registered for r in registrations),
        "first_run": not registrations[0].table_exists,
        "schema_changed": any(r.schema_changed for r in registrations),
        "locations": {**written.locations, "quarantine": quarantine},
        "report_location": report_uri(options.curated_location, options.as_of),
    }
