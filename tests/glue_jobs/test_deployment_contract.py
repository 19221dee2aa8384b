"""The job's arguments as infra deploys them: a console "Run job" with no overrides must just work."""

import dataclasses
import datetime as dt

from glue_jobs.curation.options import CurationOptions, parse_arguments
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
    options, _ = parse_arguments(
        _console_argv({**DEPLOYED, "--as_of": "2026-11-30", "--run_id": "exec-1"})
    )
    resolved = options.resolved(job_run_id="jr_ignored")
    assert (resolved.as_of, resolved.run_id) == ("2026-11-30", "exec-1")
