"""Plain helpers of the Glue job tests: run() as the local runner calls it, its rows, the metrics names."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

from glue_jobs.curation.options import CurationOptions
from glue_jobs.curation.run import run
from pipeline.local.catalog import local_adapters, local_table_partitions, run_local_crawler

NAMESPACE = "HealthcareAccreditation"
STACK = "hc-accred-dev"


def run_locally(spark: SparkSession, options: CurationOptions) -> dict[str, Any]:
    return run(spark, options, local_adapters(options))


def _rows(spark, zones, table="facilities", snapshot="2026-12-01"):
    location = local_table_partitions(str(zones.curated), table)[snapshot]
    return sorted(
        (r.asDict(recursive=True) for r in spark.read.parquet(location).collect()),
        key=lambda r: (r["facility_id"], r.get("field", "")),
    )


def _first_run(spark, zones, as_of="2026-12-01", run_id="r1", **overrides):
    report = run_locally(spark, zones.options(as_of, run_id, **overrides))
    if report["crawler_required"]:
        run_local_crawler(str(zones.curated))
    return report
