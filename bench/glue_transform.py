"""Benchmark: records/s of the Glue job's run() against a naive variant (schema inference + Python UDF)."""

# Fair by construction: both variants read the same raw NDJSON files in the same SparkSession (warmed
# up on a small sample first) and write zstd Parquet of the deduplicated facilities; neither re-reads
# its output to count it. The naive variant infers the schema (a full extra pass over the text) and
# applies the state/employee_count/services/valid_until rules in a Python UDF; ours is the real run()
# with its quarantine, data-quality table, conservation check, manifest and report.

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import tempfile
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


def naive_transform(spark: SparkSession, raw: Path, out: Path) -> int:
    """What the job replaces: inferred schema (an extra pass) and row-by-row Python for the rules."""

    @F.udf(
        T.StructType(
            [
                T.StructField("state", T.StringType()),
                T.StructField("employee_count", T.IntegerType()),
                T.StructField("services", T.ArrayType(T.StringType())),
                T.StructField("valid_untils", T.ArrayType(T.DateType())),
            ]
        )
    )
    def normalise(state, employee_count, services, accreditations):
        def calendar_date(text):
            try:
                return dt.date.fromisoformat(text) if text and len(text) == 10 else None
            except ValueError:
                return None

        state = (state or "").strip().upper() or "UNKNOWN"
        count = int(employee_count) if isinstance(employee_count, int) and employee_count >= 0 else None
        distinct = list(dict.fromkeys(s.strip() for s in services or [] if s and s.strip()))
        dates = [calendar_date(a["valid_until"]) for a in accreditations or []]
        return state, count, distinct, dates

    frame = spark.read.json(str(raw)).withColumn("source_file", F.input_file_name())
    if "_corrupt_record" in frame.columns:
        frame = frame.cache().where(F.col("_corrupt_record").isNull())
    frame = frame.where(F.col("facility_id").isNotNull())
    normalised = frame.withColumn(
        "n", normalise("location.state", "employee_count", "services", "accreditations")
    ).select("facility_id", "facility_name", "n.*", "labs", "source_file")
    latest = Window.partitionBy("facility_id").orderBy(F.col("source_file").desc())
    result = normalised.withColumn("_r", F.row_number().over(latest)).where("_r = 1").drop("_r")
    written = Observation("naive_rows")
    result = result.observe(written, F.count(F.lit(1)).alias("rows"))
    result.write.mode("overwrite").option("compression", "zstd").parquet(str(out))
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
    parser.add_argument("--files", type=int, default=8, help="raw NDJSON files to spread them over")
    parser.add_argument("--work-dir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--driver-memory", default="3g")
    args = parser.parse_args(argv)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="glue-bench-"))
    raw = work / "raw"
    shutil.rmtree(work, ignore_errors=True)
    print(f"generating {args.facilities:,} facilities in {args.files} files under {raw} ...")
    paths = generate(raw, args.facilities, args.files)
    records = sum(1 for p in paths for _ in p.open(encoding="utf-8"))
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
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
        options = job.CurationOptions(
            raw_location=f"{raw}/",
            curated_location=f"{work / 'curated'}/",
            quarantine_location=f"{work / 'quarantine'}/",
            as_of="2026-12-01",
            run_id="bench",
            max_rejected_ratio=0.05,
        ).resolved()

        def ours() -> str:
            report = job.run(spark, options, catalog=job.LocalCatalog(options.curated_location))
            return f"{report['facilities']:,} facilities, {report['quarantined']:,} quarantined"

        # Warm the JVM on a small sample first so neither variant pays start-up costs in its timing.
        warm = work / "warm"
        generate(warm / "raw", 2_000, 2)
        warm_options = job.CurationOptions(
            f"{warm / 'raw'}/", f"{warm / 'curated'}/", f"{warm / 'quarantine'}/", "2026-12-01", "warm", 0.05
        ).resolved()
        job.run(spark, warm_options, catalog=job.LocalCatalog(warm_options.curated_location))
        naive_transform(spark, warm / "raw", warm / "naive")
        ours_rate = _timed("curate_facilities.run", records, ours)
        naive_rate = _timed(
            "naive (inference + Python UDF)",
            records,
            lambda: f"{naive_transform(spark, raw, work / 'naive'):,} facilities",
        )
        print(f"speed-up: {ours_rate / naive_rate:.2f}x (target >= 1.3x at 1,000,000 facilities)")
    finally:
        spark.stop()
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
