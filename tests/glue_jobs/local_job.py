"""The job's run() as the local runner calls it: on local folders, with the local catalog."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

from glue_jobs.curation.options import CurationOptions
from glue_jobs.curation.run import run
from pipeline.local.catalog import local_adapters


def run_locally(spark: SparkSession, options: CurationOptions) -> dict[str, Any]:
    return run(spark, options, local_adapters(options))
