"""Helpers of the end-to-end bench: spreads over runs, the linear fit behind the cost model's Glue time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.end_to_end import PipelineRun, Spread, linear_fit, snapshot_folder, stage_spreads


def test_spread_reports_median_and_range():
    spread = Spread.of([3.0, 1.0, 2.0])
    assert (spread.median, spread.low, spread.high, spread.runs) == (2.0, 1.0, 3.0, 3)
    assert spread.text() == "2.00 s (1.00-3.00)"
    assert Spread.of([4.0]).text() == "4.00 s"


def test_linear_fit_recovers_fixed_and_per_record_time():
    fixed, slope = linear_fit([(10_000, 12.0), (100_000, 21.0), (1_000_000, 111.0)])
    assert fixed == pytest.approx(11.0)
    assert slope == pytest.approx(0.0001)
    assert linear_fit([(1000, 5.0)]) == (0.0, 0.005)


def test_linear_fit_never_returns_a_negative_slope_or_intercept():
    assert linear_fit([(2_000, 50.0), (10_000, 48.0)]) == (49.0, 0.0)
    fixed, slope = linear_fit([(1, 1.0), (2, 3.0), (3, 5.0)])
    assert fixed == 0.0
    assert slope == pytest.approx(22 / 14)


def test_stage_spreads_keep_stage_order_and_add_the_wall_time():
    runs = [
        PipelineRun(10, wall, {"curate": curate, "facility_metrics": 0.5}, {}, {}, Path("."))
        for wall, curate in ((9.0, 6.0), (11.0, 8.0), (10.0, 7.0))
    ]
    spreads = stage_spreads(runs)
    assert list(spreads) == ["curate", "facility_metrics", "total (command wall time)"]
    assert spreads["curate"].median == 7.0
    assert spreads["total (command wall time)"].text() == "10.00 s (9.00-11.00)"


def test_snapshot_folder_follows_the_local_catalog(tmp_path):
    chosen = tmp_path / "curated" / "facilities" / "snapshot_date=2026-12-01" / "run_id=b"
    chosen.mkdir(parents=True)
    (chosen.parent / "run_id=a").mkdir()
    catalog = tmp_path / "curated" / "_catalog"
    catalog.mkdir()
    (catalog / "facilities.json").write_text(
        json.dumps({"table": "facilities", "columns": [], "partitions": {"2026-12-01": str(chosen)}}),
        encoding="utf-8",
    )
    assert snapshot_folder(tmp_path, "2026-12-01") == chosen
