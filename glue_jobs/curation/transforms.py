"""Pure transforms of the curation: DataFrame -> DataFrame (and the Column expressions they share)."""

from __future__ import annotations

import math
import re

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs.curation.schemas import (
    ACCREDITATION,
    CORRUPT_COLUMN,
    FACILITY_COLUMNS,
    ISSUE,
    JSON_OPTIONS,
    KNOWN_FIELDS,
    RAW_SCHEMA,
    REASON_INVALID_JSON,
    REASON_MISSING_ID,
    REASON_NOT_OBJECT,
    REASON_SCHEMA_MISMATCH,
    STRINGS,
)

# About 64-128 MB of zstd Parquet per file for typical facility records: large enough for Athena
# to read efficiently, small enough that a big snapshot is still written in parallel.
ROWS_PER_FILE = 500_000
# Below this many rows a core, splitting a snapshot over the cores costs more than it saves.
MIN_ROWS_PER_FILE = 50_000
ARRIVAL_LINE_BITS = 40
INT_MAX = 2_147_483_647
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Each accreditation trimmed, with valid_until as a real calendar date from strict YYYY-MM-DD text
# (else NULL). The pattern keeps out what a cast would accept leniently
# (2026-2-3, 2026-02-03T10:00, surrounding spaces, year 0); try_cast turns 2026-02-30 into NULL and
# never raises, whatever spark.sql.ansi.enabled says. SQL text because the Python Column API of
# Spark 3.5 has no try_cast.
CHECKED_ACCREDITATIONS_SQL = f"""
transform(record.accreditations, a -> named_struct(
    'accreditation_body', trim(a.accreditation_body),
    'accreditation_id', trim(a.accreditation_id),
    'valid_until', CASE WHEN a.valid_until RLIKE '{DATE_PATTERN}' AND a.valid_until >= '0001'
                        THEN try_cast(a.valid_until AS DATE) END))
"""
# JSON's insignificant whitespace (RFC 8259), as trimmed around a line before the shape checks.
JSON_WHITESPACE = " \t\r\n"
EMPLOYEE_COUNT_KEY = '"employee_count"'


def strip_bom(value: Column) -> Column:
    # A prefix test on the UTF-8 bytes, not a regex: a regex decodes every line to a Java string.
    return F.when(value.startswith("\ufeff"), value.substr(2, INT_MAX)).otherwise(value)


def parse_lines(lines: DataFrame) -> DataFrame:
    """Parse raw lines (`value`); adds record, employee_count_long, reason, line_kind, unknown_fields.

    line_kind is "blank", "quarantined" (reason set) or "record"; unknown_fields lists the top-level
    fields of a record that the schema does not know (NULL for other lines).
    """
    # Every check here runs on every line, so the common case costs byte comparisons only: a line
    # that starts with "{" and ends with "}" needs no trimming (Spark's trim with a character set
    # allocates per call), and no regex (which decodes the whole line to a Java string).
    value = F.col("value")
    braced = value.startswith("{") & value.endswith("}")
    stripped = F.btrim(value, F.lit(JSON_WHITESPACE))  # evaluated only where braced is false
    record = F.from_json(value, RAW_SCHEMA, JSON_OPTIONS)
    # employee_count is parsed as text, where the JSON number 250 and the string "250" look alike;
    # only a number counts, so the raw line must show the number right after the key's colon.
    # Reading the line a second time with a LongType schema would tell the same, at a second parse.
    count_text = F.col("record.employee_count")
    parsed = lines.withColumn("record", record).withColumn(
        "employee_count_long",
        F.when(
            count_text.rlike(r"^-?[0-9]{1,18}$") & _is_json_number(value, EMPLOYEE_COUNT_KEY, count_text),
            count_text.cast("long"),
        ),
    )
    blank = ~braced & (stripped == "")
    corrupt = F.col(f"record.{CORRUPT_COLUMN}").isNotNull()
    looks_like_object = braced | (stripped.startswith("{") & stripped.endswith("}"))
    facility_id = F.trim(F.col("record.facility_id"))
    # get_json_object only runs for corrupt lines: it tells valid JSON of the wrong shape from broken text.
    valid_json = F.get_json_object(value, "$").isNotNull()
    reason = (
        F.when(blank, F.lit(None))
        .when(~braced & ~stripped.startswith("{") & valid_json, F.lit(REASON_NOT_OBJECT))
        .when(~looks_like_object, F.lit(REASON_INVALID_JSON))
        .when(corrupt & valid_json, F.lit(REASON_SCHEMA_MISMATCH))
        .when(corrupt, F.lit(REASON_INVALID_JSON))
        .when(facility_id.isNull() | (facility_id == ""), F.lit(REASON_MISSING_ID))
    )
    kind = (
        F.when(blank, F.lit("blank"))
        .when(F.col("reason").isNotNull(), F.lit("quarantined"))
        .otherwise(F.lit("record"))
    )
    known = F.array(*(F.lit(name) for name in KNOWN_FIELDS))
    # array_except, not a filter lambda: lambdas are interpreted row by row, this one per key.
    # (Its set semantics lose nothing: the keys of one JSON object are distinct.)
    unknown = F.when(F.col("line_kind") == "record", F.array_except(F.json_object_keys(value), known))
    return (
        parsed.withColumn("reason", reason)
        .withColumn("line_kind", kind)
        .withColumn("unknown_fields", unknown)
    )


def _is_json_number(line: Column, key: str, text: Column) -> Column:
    """Whether the raw line gives the quoted `key` the JSON number `text` (not the string "text").

    One byte search per usual spelling ("key":250 and "key": 250), each stopping where it finds the
    key; the regex, which decodes the whole line, runs only where neither matches: a quoted value
    (rare, it is an issue) or a colon spaced some other way.
    """
    usual = line.contains(F.concat(F.lit(f"{key}:"), text)) | line.contains(F.concat(F.lit(f"{key}: "), text))
    return usual | line.rlike(re.escape(key) + r"\s*:\s*-?[0-9]")


def quarantine_records(parsed: DataFrame, run_id: str, snapshot_date: str) -> DataFrame:
    """One row per rejected line, in the quarantine JSON-lines shape."""
    return parsed.where(F.col("line_kind") == "quarantined").select(
        "reason",
        "source_file",
        F.col("source_line").alias("line_number"),
        F.col("value").alias("raw_line"),
        F.lit(run_id).alias("run_id"),
        F.lit(snapshot_date).alias("snapshot_date"),
    )


def curate_records(parsed: DataFrame) -> DataFrame:
    """Normalise accepted records to the curated columns (plus `file_order` for deduplication).

    Each record carries its field-level problems in data_quality_issues, so the issues travel with
    the record through deduplication and carrying forward, and need no join of their own.
    """
    record = F.col("record")
    state = F.upper(F.trim(record["location"]["state"]))
    count = F.col("employee_count_long")
    trimmed_services = F.transform(record["services"], lambda s: F.trim(s))
    services = F.filter(trimmed_services, lambda s: s.isNotNull() & (s != ""))
    # valid_until is parsed once per accreditation; the curated value and its issue both use it.
    checked = parsed.where(F.col("line_kind") == "record").withColumn(
        "_accreditations", F.expr(CHECKED_ACCREDITATIONS_SQL)
    )
    accreditations = F.col("_accreditations")
    return checked.select(
        F.trim(record["facility_id"]).alias("facility_id"),
        F.trim(record["facility_name"]).alias("facility_name"),
        F.trim(record["location"]["address"]).alias("address"),
        F.trim(record["location"]["city"]).alias("city"),
        F.when(state.isNull() | (state == ""), F.lit("UNKNOWN")).otherwise(state).alias("state"),
        F.trim(record["location"]["zip"]).alias("zip"),
        F.when(count.between(0, INT_MAX), count.cast("int")).alias("employee_count"),
        F.coalesce(F.array_distinct(services), F.array().cast(T.ArrayType(STRINGS))).alias("services"),
        record["labs"].alias("labs"),
        accreditations.cast(T.ArrayType(ACCREDITATION)).alias("accreditations"),
        _record_issues(record, count, accreditations).alias("data_quality_issues"),
        "source_file",
        F.col("source_line").cast("long").alias("source_line"),
        "file_order",
    )


def _record_issues(record: Column, count: Column, accreditations: Column) -> Column:
    """The record's field-level issues: a bad employee_count, and each missing or invalid valid_until.

    `accreditations` are the curated ones: a NULL valid_until there marks a missing or invalid date.
    """
    raw_count = record["employee_count"]
    count_issue = (
        F.when(raw_count.isNull(), F.lit("missing"))
        .when(count.isNull(), F.lit("not_an_integer"))
        .when(count < 0, F.lit("negative"))
        .when(count > INT_MAX, F.lit("out_of_range"))
    )
    count_issues = F.when(
        count_issue.isNotNull(), F.array(_issue(F.lit("employee_count"), count_issue, raw_count))
    )

    def date_issue(pair: Column, position: Column) -> Column:
        raw = pair["raw"]
        issue = F.when(raw.isNull(), F.lit("missing")).when(
            pair["parsed"].isNull(), F.lit("not_a_calendar_date")
        )
        field = F.format_string("accreditations[%d].valid_until", position)
        return F.when(issue.isNotNull(), _issue(field, issue, raw))

    dates = accreditations["valid_until"]
    pairs = F.arrays_zip(record["accreditations"]["valid_until"].alias("raw"), dates.alias("parsed"))
    # Lambdas are interpreted row by row; most records have only good dates, which this
    # array-level test (codegen, and keeps a NULL when both sides hold one) lets skip them.
    has_null_date = F.size(F.array_intersect(dates, F.array(F.lit(None).cast("date")))) > 0
    date_issues = F.when(has_null_date, F.filter(F.transform(pairs, date_issue), lambda i: i.isNotNull()))
    none = F.array().cast(T.ArrayType(ISSUE))
    return F.concat(F.coalesce(count_issues, none), F.coalesce(date_issues, none))


def _issue(field: Column, issue: Column, raw_value: Column) -> Column:
    return F.struct(field.alias("field"), issue.alias("issue"), raw_value.alias("raw_value"))


def data_quality_issues(facilities: DataFrame) -> DataFrame:
    """One row per issue of the given curated rows, in the data_quality_issues table's shape."""
    exploded = facilities.select(
        "facility_id", "source_file", "source_line", F.explode("data_quality_issues").alias("issue")
    )
    return exploded.select("facility_id", "source_file", "source_line", "issue.*")


def with_previous(curated: DataFrame, previous: DataFrame | None) -> DataFrame:
    """New records plus the previous snapshot's rows, which lose to any new record of their facility.

    Previous rows get file_order -1 (new files count from 0), so one deduplication both picks the
    latest new record and carries forward the facilities that received none.
    """
    if previous is None:
        return curated
    carried = previous.select(*FACILITY_COLUMNS, F.lit(-1).cast("int").alias("file_order"))
    return curated.unionByName(carried)


def latest_records(candidates: DataFrame, partitions: int | None = None) -> DataFrame:
    """One row per facility_id: the latest arrival wins (file order, then line). Keeps `file_order`.

    With `partitions`, the rows are first hash-partitioned by facility_id into that many
    partitions, which the window reuses: one shuffle yields both the deduplication and the files.
    """
    if partitions is not None:
        candidates = candidates.repartition(partitions, "facility_id")
    latest_first = Window.partitionBy("facility_id").orderBy(arrival().desc())
    ranked = candidates.withColumn("_rank", F.row_number().over(latest_first))
    return ranked.where(F.col("_rank") == 1).drop("_rank")


def unknown_field_counts(parsed: DataFrame) -> DataFrame:
    """Top-level fields of accepted records that the schema does not know: (field, occurrences)."""
    return parsed.select(F.explode("unknown_fields").alias("field")).groupBy("field").count()


def snapshot_files(spark: SparkSession, row_count: int) -> int:
    """How many files a snapshot of about row_count rows is written as.

    About ROWS_PER_FILE rows a file, but at least one per core once there are MIN_ROWS_PER_FILE
    rows a core: the files are written by as many tasks, and deduplication runs in them too.
    """
    by_size = math.ceil(row_count / ROWS_PER_FILE)
    by_cores = min(spark.sparkContext.defaultParallelism, row_count // MIN_ROWS_PER_FILE)
    return max(1, by_size, by_cores)


def arrival() -> Column:
    """file_order and source_line as one comparable long: the later file wins, then the later line.

    Previous rows (file_order -1) come before every new one. Holds up to 2^40 lines a file.
    """
    return F.col("file_order").cast("long") * (1 << ARRIVAL_LINE_BITS) + F.col("source_line")


def duplicate_winners(candidates: DataFrame) -> DataFrame:
    """facility_id and winning_arrival of every facility with more than one candidate row.

    Only the key and a long are shuffled, not the records; usually few facilities qualify (the
    updates of a day), so the result is small enough to broadcast.
    """
    return (
        candidates.groupBy("facility_id")
        .agg(F.count(F.lit(1)).alias("rows"), F.max(arrival()).alias("winning_arrival"))
        .where(F.col("rows") > 1)
        .select("facility_id", "winning_arrival")
    )


def without_superseded(candidates: DataFrame, winners: DataFrame) -> DataFrame:
    """The candidates minus the rows a later row of the same facility supersedes (see latest_records).

    winners (from duplicate_winners) is broadcast, so every task filters its own rows in place:
    the records are never shuffled or sorted.
    """
    joined = candidates.join(F.broadcast(winners), "facility_id", "left")
    survives = F.col("winning_arrival").isNull() | (arrival() == F.col("winning_arrival"))
    return joined.where(survives).drop("winning_arrival")
