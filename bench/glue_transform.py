"""Benchmark: records/s of the Glue job's run() against a naive variant (schema inference + Python UDF)."""

# Fair by construction: each variant runs in its own process (a fresh JVM, as every Glue job run
# is), warms up on the same small sample first, then reads the same raw NDJSON files. Both produce
# the job's three outputs: the deduplicated facilities and their data-quality issues as zstd
# Parquet, and the rejected lines as JSON. The naive variant does it the simple way: it infers the
# schema (a full extra pass over the text), quarantines what Spark cannot parse or has no id,
# applies the state/employee_count/services/valid_until rules and finds the issues in a Python UDF,
# deduplicates with a window, caches the result and writes it twice. Ours is the real run() with
# its line numbers, manifest, report and conservation check.

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import time
from pathlib import Path

from pyspark.sql import Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs import curate_facilities as job

STATES = ("TX", "CA", "FL", "NY", "WA", "IL", "OH", "GA", "az", " nc ", "")
SERVICES = ("Emergency Care", "Surgery", "Radiology", "Laboratory", "Pediatrics", "Cardiology", " Maternity ")
BODIES = ("Joint Commission", "NCQA", "DNV", "CARF")


def generate(folder: Path, facilities: int, files: int, seed: int = 7) -> list[Path]:
    """NDJSON files with `facilities` distinct ids plus 5% updates and 1% broken lines, as real feeds have."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"facilities_{i:03d}.ndjson" for i in range(files)]
    handles = [p.open("w", encoding="utf-8") for p in paths]
    start = dt.date(2026, 1, 1)
    try:
        for n in range(int(facilities * 1.06)):
            facility = n if n < facilities else rng.randrange(facilities)
            if rng.random() < 0.01:
                line = '{"facility_id": "BROKEN' + str(n)
            else:
                line = json.dumps(
                    {
                        "facility_id": f"FAC{facility:08d}",
                        "facility_name": f"Facility {facility}",
                        "location": {
                            "address": f"{facility} Main St",
                            "city": "Springfield",
                            "state": rng.choice(STATES),
                            "zip": f"{rng.randrange(10000, 99999)}",
                        },
                        "employee_count": rng.choice((rng.randrange(5, 3000), -1, "12", 10.5)),
                        "services": rng.sample(SERVICES, 3),
                        "labs": [{"lab_name": "Pathology Lab", "certifications": ["CAP", "CLIA"]}],
                        "accreditations": [
                            {
                                "accreditation_body": rng.choice(BODIES),
                                "accreditation_id": f"A{facility}-{k}",
                                "valid_until": (start + dt.timedelta(days=rng.randrange(1200))).isoformat()
                                if rng.random() > 0.02
                                else "2026-02-30",
                            }
                            for k in range(2)
                        ],
                    }
                )
            handles[n % files].write(line + "\n")
    finally:
        for handle in handles:
            handle.close()
    return paths


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


def _timed(label: str, records: int, action) -> float:
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    rate = records / seconds
    print(f"{label:<34} {seconds:8.1f} s  {rate:12,.0f} records/s  ({result})")
    return rate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--facilities", type=int, default=100_000, help="distinct facilities (target: 1000000)"
    )
    parser.add_argument(
        "--variant", choices=("ours", "naive"), required=True, help="the one variant this process times"
    )
    parser.add_argument("--files", type=int, default=8, help="raw NDJSON files to spread them over")
    parser.add_argument(
        "--work-dir", type=Path, required=True, help="scratch folder; its raw/ input is reused when present"
    )
    parser.add_argument("--driver-memory", default="3g")
    args = parser.parse_args(argv)

    work, raw = args.work_dir, args.work_dir / "raw"
    marker = work / f"raw-{args.facilities}.done"
    if not marker.exists():
        shutil.rmtree(work, ignore_errors=True)
        print(f"generating {args.facilities:,} facilities in {args.files} files under {raw} ...")
        generate(raw, args.facilities, args.files)
        generate(work / "warm" / "raw", 2_000, 2)
        # Counted once here, not again by each variant's process.
        marker.write_text(str(sum(1 for p in raw.iterdir() for _ in p.open(encoding="utf-8"))))
    records = int(marker.read_text())
    size_mb = sum(p.stat().st_size for p in raw.iterdir()) / 1e6
    print(f"{records:,} input lines, {size_mb:,.0f} MB")

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("glue-transform-bench")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        out = work / args.variant
        shutil.rmtree(out, ignore_errors=True)

        def ours(source: Path, target: Path, run_id: str) -> str:
            options = job.CurationOptions(
                f"{source}/",
                f"{target / 'curated'}/",
                f"{target / 'quarantine'}/",
                "2026-12-01",
                run_id,
                0.05,
            ).resolved()
            report = job.run(spark, options, catalog=job.LocalCatalog(options.curated_location))
            return f"{report['facilities']:,} facilities, {report['quarantined']:,} quarantined"

        def naive(source: Path, target: Path, run_id: str) -> str:
            return f"{naive_transform(spark, source, target):,} facilities"

        variant = ours if args.variant == "ours" else naive
        # A warm-up on a small sample first, so start-up costs stay out of the timing.
        variant(work / "warm" / "raw", out / "warm", "warm")
        label = "curate_facilities.run" if args.variant == "ours" else "naive (inference + Python UDF)"
        _timed(label, records, lambda: variant(raw, out / "measured", "bench"))
    finally:
        spark.stop()
        shutil.rmtree(work / args.variant, ignore_errors=True)


if __name__ == "__main__":
    main()
