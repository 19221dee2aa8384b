"""Cost model arithmetic on hand-computed inputs, with every billing minimum applied."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

import pytest

from pipeline.cost.command import run
from pipeline.cost.model import ATHENA, GLUE_JOB, LAMBDA, STEP_FUNCTIONS, Deployment, Measurements, compare
from pipeline.cost.prices import MIB, TIB, athena_billed_bytes, crawler_run_dollars, glue_billed_dpu_seconds
from pipeline.cost.transitions import ordinary_day_transitions, transitions_to
from pipeline.errors import UsageError

MEASUREMENTS = Measurements(
    measured_on="test",
    facilities_measured=1000,
    raw_bytes_per_facility=1000.0,
    curated_bytes_per_facility=100.0,
    curated_files_per_snapshot=1,
    query_bytes_per_facility={"q1": 40.0, "q2": 20.0},
    query_leaf_columns={"q1": 3, "q2": 2},
    delta_share=0.01,
    curate_seconds_fixed=10.0,
    curate_seconds_per_facility=0.00005,
    reload_seconds_fixed=20.0,
    reload_seconds_per_facility=0.0001,
    notifier_seconds_fixed=0.5,
    notifier_seconds_per_row=0.00001,
    notifier_rows_per_facility=0.2,
)


def test_athena_bills_whole_megabytes_with_a_ten_megabyte_minimum():
    assert athena_billed_bytes(0) == 10 * MIB
    assert athena_billed_bytes(10 * MIB) == 10 * MIB
    assert athena_billed_bytes(10 * MIB + 1) == 11 * MIB
    assert athena_billed_bytes(25.5 * MIB) == 26 * MIB


def test_glue_and_crawler_minimums():
    assert glue_billed_dpu_seconds(30, workers=2) == 120
    assert glue_billed_dpu_seconds(90, workers=2) == 180
    assert glue_billed_dpu_seconds(90, workers=5) == 450
    assert crawler_run_dollars() == pytest.approx(2 * 600 / 3600 * 0.44)
    assert crawler_run_dollars(1200) == pytest.approx(2 * 1200 / 3600 * 0.44)


def test_small_registry_pays_the_glue_minimum_and_costs_more_than_the_seed_design():
    # 1,000 facilities: the job runs 10.05 s, billed as 60 s on 2 workers.
    comparison = compare(1000, MEASUREMENTS, transitions=(31, 28))

    assert comparison.flex.dollars(GLUE_JOB) == pytest.approx(120 / 3600 * 0.29)
    assert comparison.standard.dollars(GLUE_JOB) == pytest.approx(120 / 3600 * 0.44)
    assert comparison.seed.dollars(GLUE_JOB) == 0
    # Both designs: two queries of 10 MiB each (the minimum).
    assert comparison.flex.dollars(ATHENA) == pytest.approx(20 * MIB / TIB * 5)
    assert comparison.seed.dollars(ATHENA) == pytest.approx(20 * MIB / TIB * 5)
    assert comparison.flex.dollars(STEP_FUNCTIONS) == pytest.approx(31 * 0.025 / 1000)
    assert comparison.seed.dollars(STEP_FUNCTIONS) == pytest.approx(28 * 0.025 / 1000)
    # 200 notifier rows: 0.502 s at 0.5 GB, plus one request.
    assert comparison.flex.dollars(LAMBDA) == pytest.approx(0.5 * 0.502 * 0.0000166667 + 0.2 / 1e6)
    assert comparison.flex.total > comparison.seed.total
    assert comparison.crawler_run.dollars == pytest.approx(2 * 600 / 3600 * 0.44)


def test_large_registry_scans_column_chunks_instead_of_the_raw_file():
    # 10M facilities: raw 10 GB per query for the seed design; 400 MB and 200 MB for this design.
    comparison = compare(10_000_000, MEASUREMENTS, transitions=(31, 28))

    job_seconds = 10 + 0.00005 * 10_000_000
    assert comparison.flex.dollars(GLUE_JOB) == pytest.approx(2 * job_seconds / 3600 * 0.29)
    curated = athena_billed_bytes(400_000_000) + athena_billed_bytes(200_000_000)
    assert comparison.flex.dollars(ATHENA) == pytest.approx(curated / TIB * 5)
    assert comparison.seed.dollars(ATHENA) == pytest.approx(2 * athena_billed_bytes(10_000_000_000) / TIB * 5)
    assert comparison.flex.total == pytest.approx(sum(line.dollars for line in comparison.flex.lines))


def test_a_full_reload_prices_the_reload_time_and_leaves_the_rest_alone():
    ordinary = compare(1_000_000, MEASUREMENTS, transitions=(31, 28))
    reload = compare(1_000_000, MEASUREMENTS, transitions=(31, 28), full_reload=True)

    # Ordinary day: 10 + 50 = 60 s (exactly the minimum); full reload: 20 + 100 = 120 s.
    assert ordinary.flex.dollars(GLUE_JOB) == pytest.approx(2 * 60 / 3600 * 0.29)
    assert reload.flex.dollars(GLUE_JOB) == pytest.approx(2 * 120 / 3600 * 0.29)
    assert reload.flex.dollars(ATHENA) == ordinary.flex.dollars(ATHENA)
    assert reload.seed.total == ordinary.seed.total
    assert "1% delta" in ordinary.scenario
    assert reload.scenario == "full reload"


def test_transitions_count_the_cheapest_successful_path_with_parallel_branches():
    definition = {
        "StartAt": "Choose",
        "States": {
            "Choose": {"Type": "Choice", "Choices": [{"Next": "Long"}], "Default": "Both"},
            "Long": {"Type": "Pass", "Next": "Longer"},
            "Longer": {"Type": "Pass", "Next": "Both"},
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
                    },
                    {"StartAt": "C", "States": {"C": {"Type": "Pass", "End": True}}},
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    # Choose, Both (+ A, B, C), Done.
    assert transitions_to(definition, "Done") == 6


def test_the_pipeline_definition_yields_a_plausible_transition_count():
    ours, seed = ordinary_day_transitions()
    assert 10 < seed < ours


def test_command_prints_a_table_and_rejects_missing_measurements(tmp_path, capsys):
    path = tmp_path / "measurements.json"
    path.write_text(json.dumps(asdict(MEASUREMENTS)), encoding="utf-8")
    assert run(argparse.Namespace(facilities=[1000], measurements=path, full_reload=False)) == 0
    printed = capsys.readouterr().out
    assert "1,000 facilities" in printed
    assert "Seed design" in printed

    with pytest.raises(UsageError, match="make bench"):
        run(argparse.Namespace(facilities=[1000], measurements=tmp_path / "absent.json", full_reload=False))


def test_the_priced_deployment_is_the_one_infra_deploys_by_default():
    # pipeline/ cannot import infra/ at run time; this test keeps the two defaults from drifting apart.
    from infra.config import GlueJobSettings, NotifierSettings

    assert Deployment().glue_workers == GlueJobSettings().number_of_workers
    assert Deployment().notifier_memory_mb == NotifierSettings().memory_mb
