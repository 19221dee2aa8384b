"""Benchmark: records/s of the Glue job's run() against a naive variant (schema inference + Python UDF),
and its time against the engine's floor: a bare read of the same files with the same schema, written as
zstd Parquet."""

# Fair by construction: each variant runs in its own process (its own JVM, so neither inherits the
# other's compiled code), warms up on the same 2,000 generated records, then times the same runs on
# the same feeds in the same order. Both produce the job's three outputs: the deduplicated
# facilities and their data-quality issues as zstd Parquet, and the rejected lines as JSON. The
# naive variant does it the simple way: it infers the schema (a full extra pass over the text),
# quarantines what Spark cannot parse or has no id, applies the state/employee_count/services/
# valid_until rules and finds the issues in a Python UDF, deduplicates with a window, caches the
# result and writes it twice. Ours is the real run() with its line numbers, manifest, report and
# conservation check.
#
# The floor runs in the job's own process, right after each run of the job, in the same session with the
# same settings: what Spark needs at the least to turn the same text into Parquet (one parse with the
# job's raw schema, one write), without line numbers, quarantine, normalisation, deduplication,
# data-quality issues or atomic publication. Job seconds over floor seconds is what those cost.

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import time
from pathlib import Path

from pyspark.sql import Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs.curation.options import CurationOptions
from glue_jobs.curation.run import run
from glue_jobs.curation.schemas import JSON_OPTIONS, RAW_SCHEMA
from pipeline.generate import write_facilities
from pipeline.local.catalog import local_adapters

# Printed before each measured run's JSON, for the orchestrator (bench/steps.py) to pick up.
RESULT_PREFIX = "glue-bench-result "
WARM_UP_FACILITIES = 2_000


ISSUE = T.StructType([T.StructField(n, T.StringType()) for n in ("field", "issue", "raw_value")])


def naive_transform(spark: SparkSession, raw: Path, out: Path) -> int:
    """What the job replaces: inferred schema (an extra pass) and row-by-row Python for the rules."""

    @F.udf(
        T.StructType(
            [
                T.StructField("state", T.StringType()),
                T.StructField("employee_count", T.IntegerType()),
                T.StructField("services", T.ArrayType(T.StringType())),
                T.StructField("valid_untils", T.ArrayType(T.DateType())),
                T.StructField("issues", T.ArrayType(ISSUE)),
            ]
        )
    )
    def normalise(state, employee_count, services, accreditations):
        def calendar_date(text):
            try:
                return dt.date.fromisoformat(text) if text and len(text) == 10 else None
            except ValueError:
                return None

        issues = []
        state = (state or "").strip().upper() or "UNKNOWN"
        count = None
        try:
            if employee_count is not None and str(employee_count).lstrip("-").isdigit():
                count = int(employee_count)
        except ValueError:
            count = None
        if count is None or count < 0:
            issues.append(
                ("employee_count", "not_an_integer" if count is None else "negative", employee_count)
            )
            count = None
        distinct = list(dict.fromkeys(s.strip() for s in services or [] if s and s.strip()))
        dates = []
        for position, accreditation in enumerate(accreditations or []):
            dates.append(calendar_date(accreditation["valid_until"]))
            if dates[-1] is None:
                issues.append(
                    (
                        f"accreditations[{position}].valid_until",
                        "not_a_calendar_date",
                        accreditation["valid_until"],
                    )
                )
        return state, count, distinct, dates, issues

    frame = spark.read.json(str(raw)).withColumn("source_file", F.input_file_name()).cache()
    rejected = F.col("facility_id").isNull()
    if "_corrupt_record" in frame.columns:
        rejected = F.col("_corrupt_record").isNotNull() | rejected
    frame.where(rejected).select(F.to_json(F.struct("*")).alias("raw_line"), "source_file").write.mode(
        "overwrite"
    ).json(str(out / "quarantine"))
    normalised = (
        frame.where(~rejected)
        .withColumn("n", normalise("location.state", "employee_count", "services", "accreditations"))
        .select("facility_id", "facility_name", "n.*", "labs", "source_file")
    )
    latest = Window.partitionBy("facility_id").orderBy(F.col("source_file").desc())
    result = normalised.withColumn("_r", F.row_number().over(latest)).where("_r = 1").drop("_r").cache()
    written = Observation("naive_rows")
    result = result.observe(written, F.count(F.lit(1)).alias("rows"))
    result.drop("issues").write.mode("overwrite").option("compression", "zstd").parquet(
        str(out / "facilities")
    )
    issues = result.select("facility_id", "source_file", F.explode("issues").alias("i")).select(
        "facility_id", "source_file", "i.*"
    )
    issues.write.mode("overwrite").option("compression", "zstd").parquet(str(out / "issues"))
    return written.get["rows"]


def engine_floor(spark: SparkSession, raw: Path, out: Path) -> None:
    """The least Spark does to turn the feed into Parquet: one parse with the job's schema, one write."""
    frame = spark.read.schema(RAW_SCHEMA).options(**JSON_OPTIONS).json(str(raw))
    frame.write.mode("overwrite").option("compression", "zstd").parquet(str(out / "floor"))


def count_lines(feed: Path) -> int:
    """Input lines of a feed folder (the records/s numerator), counted outside the timing.

    As Spark counts them: a last line without its newline is a line too.
    """
    total = 0
    for path in sorted(feed.iterdir()):
        last = b"\n"
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 24):
                total += chunk.count(b"\n")
                last = chunk[-1:]
        total += last != b"\n"
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--variant",
        choices=("ours", "naive"),
        required=True,
        help="the one variant this process times (ours: each run followed by the engine floor's)",
    )
    parser.add_argument(
        "--measure",
        nargs=2,
        action="append",
        metavar=("RUNS", "FEED"),
        required=True,
        help="time RUNS runs over the NDJSON files of the folder FEED (repeatable; runs in the given order)",
    )
    parser.add_argument("--work-dir", type=Path, required=True, help="scratch folder for the outputs")
    parser.add_argument("--driver-memory", default="3g")
    args = parser.parse_args(argv)
    measures = [(int(runs), Path(feed)) for runs, feed in args.measure]

    out = args.work_dir / args.variant
    shutil.rmtree(out, ignore_errors=True)
    warm_feed = out / "warm-feed"
    write_facilities(warm_feed / "facilities.ndjson", WARM_UP_FACILITIES, seed=1)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("glue-transform-bench")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:

        def ours(source: Path, target: Path, run_id: str) -> str:
            options = CurationOptions(
                f"{source}/",
                f"{target / 'curated'}/",
                f"{target / 'quarantine'}/",
                "2026-12-01",
                run_id,
                0.05,
            ).resolved()
            report = run(spark, options, local_adapters(options))
            return f"{report['facilities']:,} facilities, {report['quarantined']:,} quarantined"

        def naive(source: Path, target: Path, run_id: str) -> str:
            return f"{naive_transform(spark, source, target):,} facilities"

        def floor(source: Path, target: Path, run_id: str) -> str:
            engine_floor(spark, source, target)
            return "parse and write only"

        timed = [("ours", ours), ("floor", floor)] if args.variant == "ours" else [("naive", naive)]
        # A warm-up on a small sample first, so start-up costs stay out of the timing.
        for _, variant in timed:
            variant(warm_feed, out / "warm", "warm")
        for runs, feed in measures:
            lines = count_lines(feed)
            for index in range(runs):
                for name, variant in timed:
                    run_id = f"bench-{index + 1}"
                    seconds, outcome = _timed_run(spark, variant, feed, out / "measured", run_id)
                    print(
                        f"{name} {feed.name} run {index + 1}: {seconds:.1f} s, "
                        f"{lines / seconds:,.0f} records/s ({outcome})"
                    )
                    result = {"variant": name, "feed": str(feed), "lines": lines, "seconds": seconds}
                    print(RESULT_PREFIX + json.dumps(result), flush=True)
    finally:
        spark.stop()
        shutil.rmtree(out, ignore_errors=True)


def _timed_run(spark: SparkSession, variant, feed: Path, target: Path, run_id: str) -> tuple[float, str]:
    shutil.rmtree(target, ignore_errors=True)
    started = time.perf_counter()
    outcome = variant(feed, target, run_id)
    seconds = time.perf_counter() - started
    # Each run starts from the same memory: nothing a variant cached is kept.
    spark.catalog.clearCache()
    return seconds, outcome


if __name__ == "__main__":
    main()
