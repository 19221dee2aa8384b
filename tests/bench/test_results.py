"""RESULTS.md from hand-made figures: every section in order, and steps that did not run said so."""

from __future__ import annotations

from pathlib import Path

from bench.athena_bytes import QueryScan, SnapshotScans
from bench.end_to_end import PipelineRun
from bench.plan import FULL
from bench.results import BenchResults, render
from bench.steps import EndToEnd, GlueRun, Inputs, NotifierRun, measurements_from

SIZES = (10_000, 1_000_000)
SECTIONS = [
    "# Benchmark results",
    "## Targets",
    "## 1. Glue transform on local Spark (local[2]) against the naive variant",
    "## 2. Athena bytes billed per run",
    "## 3. Notifier",
    "## 4. `python -m pipeline run` end to end",
    "## Cost per daily run on AWS",
    "### A full reload (the whole registry arrives again)",
]


def _run(size: int, curate: float) -> PipelineRun:
    return PipelineRun(
        facilities=size,
        wall_seconds=curate + 10,
        stages={"spark_startup": 3.0, "curate": curate, "notify_alerts": 0.5 + size / 1e6},
        rows={"expiring_accreditations": size // 10, "lapsed_accreditations": size // 50},
        counts={"input_lines": size, "curated": size - 5, "quarantined": 5, "carried_forward": size - 100},
        out=Path("/out"),
    )


def _scans(size: int) -> SnapshotScans:
    query = QueryScan(
        "expiring_accreditations", ("facility_id",), 3, 10 * size, 10 * 1024 * 1024, 500 * size, 0
    )
    return SnapshotScans(size, 500 * size, partition_bytes=30 * size, partition_files=2, queries=(query,))


def _results(**changes) -> BenchResults:
    e2e = EndToEnd(
        first_day={size: [_run(size, 10 + size / 1e5)] for size in SIZES},
        next_day={size: [_run(size, 5 + size / 2e5)] for size in SIZES},
        scans={size: _scans(size) for size in SIZES},
    )
    fields = {
        "plan": FULL,
        "env": [("Commit", "abc1234")],
        "inputs": Inputs({s: Path(f"/r{s}") for s in SIZES}, {s: [Path(f"/d{s}")] for s in SIZES}, {}),
        "e2e": e2e,
        "glue": {1_000_000: [GlueRun(60.0, 20_000.0, 90.0, 13_000.0, 25.0)]},
        "notifier_runs": [NotifierRun(3.2, 300_000.0, 120.0)],
        "demo": [12.0],
        "measurements": measurements_from(e2e),
        "transitions": (31, 28),
        "bench_seconds": 600.0,
        "failures": {},
    }
    return BenchResults(**{**fields, **changes})


def test_every_section_is_rendered_in_order_with_the_targets_met():
    text = render(_results())

    positions = [text.index(heading + "\n") for heading in SECTIONS]
    assert positions == sorted(positions)
    assert "| Glue transform >= 1.3x faster than the naive variant (1M facilities) | 1.54x | met |" in text
    floor_target = "| Glue job within 2.5x of the engine floor, a bare parse and write of the same files"
    assert floor_target + " (1M facilities) | 2.40x | met |" in text
    assert "10,000,000 (extrapolated)" in text
    assert "## Steps that failed" not in text


def test_a_step_that_failed_is_listed_and_its_targets_not_measured():
    text = render(_results(glue={}, notifier_runs=[], demo=[], failures={"Glue transform": "exited with 1"}))

    assert "## Steps that failed\n\n- Glue transform: exited with 1\n" in text
    assert "| - | not measured |" in text
    assert "Not run in this configuration." in text
