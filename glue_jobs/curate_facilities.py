"""Glue entry point of the curation job: arguments, GlueContext and Job, the run, its metrics line, commit."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from glue_jobs.curation.catalog import glue_catalog
from glue_jobs.curation.metrics import curation_metrics_line
from glue_jobs.curation.options import parse_arguments
from glue_jobs.curation.run import adapters_for, run


def main() -> None:
    """Glue entry point: arguments, GlueContext/Job, run, metrics, commit."""
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from pyspark.context import SparkContext

    logging.basicConfig(level=logging.INFO)
    options, glue_args = parse_arguments(sys.argv)
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(glue_args.get("JOB_NAME") or "curate_facilities", glue_args)
    resolved = options.resolved(glue_args.get("JOB_RUN_ID"))
    report = run(glue_context.spark_session, resolved, adapters_for(resolved, glue_catalog(resolved)))
    print(json.dumps(report))
    if options.metrics_namespace:
        now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        line = curation_metrics_line(
            report, namespace=options.metrics_namespace, stack=options.metrics_stack, timestamp_ms=now_ms
        )
        print(line, flush=True)
    job.commit()


if __name__ == "__main__":
    main()
