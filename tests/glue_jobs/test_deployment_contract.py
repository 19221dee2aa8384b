"""The job's arguments as infra deploys them: a console "Run job" with no overrides must just work."""

# The entry script's main() is what Glue runs: with the deployed arguments it prints the run's metrics line to
# stdout, which Glue 5 writes to the job's `output` log group (see test_metrics.py).

import dataclasses
import datetime as dt

from emf_spec import metrics_in_lines
from local_job import NAMESPACE, STACK

from glue_jobs import curate_facilities as job
from glue_jobs.curation.metrics import CURATION_METRICS
from glue_jobs.curation.options import CurationOptions, options_from_args, parse_arguments
from infra.etl import default_arguments

DEPLOYED = default_arguments(
    package_location="s3://hc-dev-artifacts/glue_jobs/curation.zip",
    raw_location="s3://hc-dev-raw/",
    curated_location="s3://hc-dev-curated/",
    quarantine_location="s3://hc-dev-quarantine/",
    database="hc_accred_dev",
    max_rejected_ratio=0.05,
    log_group_prefix="/aws-glue/jobs/hc-dev-curate-facilities",
    metrics_stack="hc-dev",
)


def _console_argv(arguments: dict[str, str]) -> list[str]:
    # Glue passes DefaultArguments, then its own, as `--name value` pairs after the script name.
    argv = ["curate_facilities.py", "--JOB_NAME", "hc-dev-curate-facilities", "--JOB_RUN_ID", "jr_0123abcd"]
    for name, value in arguments.items():
        argv += [name, value]
    return argv


def test_every_job_option_has_a_deployed_default():
    option_names = {field.name for field in dataclasses.fields(CurationOptions)}
    deployed_names = {name.removeprefix("--") for name in DEPLOYED}
    assert option_names <= deployed_names


def test_a_console_run_with_the_deployed_defaults_resolves_to_today_and_the_glue_run_id():
    options, glue_args = parse_arguments(_console_argv(DEPLOYED))
    resolved = options.resolved(job_run_id=glue_args.get("JOB_RUN_ID"), today=dt.date(2026, 12, 1))
    assert resolved.as_of == "2026-12-01"
    assert resolved.run_id == "jr_0123abcd"
    assert resolved.raw_location == "s3://hc-dev-raw/"
    assert resolved.database == "hc_accred_dev"
    assert resolved.max_rejected_ratio == 0.05
    assert resolved.rebuild is False


def test_the_state_machine_overrides_as_of_and_run_id():
    options, _ = parse_arguments(_console_argv({**DEPLOYED, "--as_of": "2026-11-30", "--run_id": "exec-1"}))
    resolved = options.resolved(job_run_id="jr_ignored")
    assert (resolved.as_of, resolved.run_id) == ("2026-11-30", "exec-1")


def _deployed_arguments() -> dict[str, str]:
    """The job's DefaultArguments as infra deploys them, for made-up locations."""
    return default_arguments(
        package_location="s3://artifacts/glue_jobs/curation.zip",
        raw_location="s3://r/",
        curated_location="s3://c/",
        quarantine_location="s3://q/",
        database="d",
        max_rejected_ratio=0.05,
        log_group_prefix="/aws-glue/jobs/x",
        metrics_stack=STACK,
    )


def test_the_deployed_arguments_carry_the_namespace_and_stack_to_the_job():

    arguments = _deployed_arguments()
    options = options_from_args({name.removeprefix("--"): value for name, value in arguments.items()})
    assert (options.metrics_namespace, options.metrics_stack) == (NAMESPACE, STACK)


def test_the_glue_entry_point_prints_the_metrics_line_with_the_deployed_namespace_and_stack(
    monkeypatch, capsys
):
    """main() is what Glue runs: the line must reach stdout there, not only exist as a function."""
    import awsglue.context
    import awsglue.job
    import pyspark.context

    class FakeGlueContext:
        def __init__(self, spark_context) -> None:
            self.spark_session = spark_context

    class FakeJob:
        def __init__(self, glue_context) -> None:
            pass

        def init(self, name, arguments) -> None:
            pass

        def commit(self) -> None:
            pass

    report = {field: 2 for field, _ in CURATION_METRICS.values()} | {"snapshot_date": "d", "run_id": "r"}
    monkeypatch.setattr(awsglue.context, "GlueContext", FakeGlueContext)
    monkeypatch.setattr(awsglue.job, "Job", FakeJob)
    monkeypatch.setattr(pyspark.context.SparkContext, "getOrCreate", staticmethod(lambda: "spark"))
    monkeypatch.setattr(job, "run", lambda spark, options, adapters: report)
    arguments = _deployed_arguments()
    argv = ["curate_facilities.py", "--JOB_NAME", "x", "--JOB_RUN_ID", "jr_1"]
    for name, value in arguments.items():
        argv += [name, value]
    monkeypatch.setattr("sys.argv", argv)
    capsys.readouterr()

    job.main()

    published = metrics_in_lines(capsys.readouterr().out)
    assert {(m.namespace, m.name, m.value) for m in published} == {
        (NAMESPACE, name, 2) for name in CURATION_METRICS
    }
    assert {m.dimensions for m in published} == {frozenset({("Stack", STACK)})}
