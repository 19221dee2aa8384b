"""Job options: arguments from a Glue argv via getResolvedOptions, symbolic defaults, refused values."""

from __future__ import annotations

import datetime as dt

import pytest

from glue_jobs.curation.options import CurationError, CurationOptions, options_from_args, parse_arguments


def test_arguments_from_a_glue_argv_with_defaults_for_absent_ones():
    argv = [
        "curate_facilities.py",
        "--JOB_NAME", "curate",
        "--JOB_RUN_ID", "jr_0123",
        "--raw_location", "s3://raw-bucket/",
        "--curated_location", "s3://curated-bucket/",
        "--quarantine_location", "s3://quarantine-bucket/",
        "--as_of", "2026-12-01",
        "--max_rejected_ratio", "0.1",
        "--rebuild", "true",
    ]  # fmt: skip
    options, glue_args = parse_arguments(argv)
    assert options == CurationOptions(
        raw_location="s3://raw-bucket/",
        curated_location="s3://curated-bucket/",
        quarantine_location="s3://quarantine-bucket/",
        as_of="2026-12-01",
        max_rejected_ratio=0.1,
        rebuild=True,
    )
    assert glue_args["JOB_NAME"] == "curate"
    resolved = options.resolved(glue_args["JOB_RUN_ID"])
    assert (resolved.run_id, resolved.as_of, resolved.database) == ("jr_0123", "2026-12-01", "")


def test_symbolic_defaults_resolve_to_today_and_the_glue_run_id():
    options = CurationOptions("s3://r/", "s3://c/", "s3://q/")
    resolved = options.resolved("jr_9", today=dt.date(2026, 12, 1))
    assert (resolved.as_of, resolved.run_id, resolved.max_rejected_ratio, resolved.rebuild) == (
        "2026-12-01",
        "jr_9",
        0.05,
        False,
    )
    assert options.resolved(None).run_id.startswith("manual-")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"as_of": "2026-02-30"}, "calendar date"),
        ({"as_of": "12/01/2026"}, "calendar date"),
        ({"max_rejected_ratio": 1.5}, "within 0..1"),
        ({"run_id": "bad/id"}, "run_id"),
        ({"raw_location": ""}, "raw_location is required"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(overrides, message):
    values = {"raw_location": "s3://r/", "curated_location": "s3://c/", "quarantine_location": "s3://q/"}
    with pytest.raises(CurationError, match=message):
        CurationOptions(**{**values, **overrides}).resolved("jr")


def test_bad_boolean_and_number_arguments():
    with pytest.raises(CurationError, match="true or false"):
        options_from_args({"rebuild": "yes"})
    with pytest.raises(CurationError, match="number"):
        options_from_args({"max_rejected_ratio": "five"})
