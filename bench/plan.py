"""What `make bench` measures: input sizes, run counts, targets, and where it works and writes."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

from bench.end_to_end import REPO_ROOT

ANCHOR = "2026-12-01"  # valid_until dates spread around it; the first run of each size uses it as as-of
SEED = 2026
BAD_RATIO = 0.01
# Share of the registry that changes from one day to the next (same facility ids, new content).
DELTA_SHARE = 0.01
BENCH_DIR = REPO_ROOT / "bench"
WORK = BENCH_DIR / "out"
RESULTS = BENCH_DIR / "RESULTS.md"
MEASUREMENTS = BENCH_DIR / "measurements.json"

TARGET_ATHENA_RATIO = 25.0
TARGET_COST_1M = 0.012
TARGET_GLUE_SPEEDUP = 1.3
# The job's seconds over a bare parse-and-write of the same files in the same session (1M facilities).
TARGET_GLUE_FLOOR_RATIO = 2.5
TARGET_NOTIFIER_SECONDS = 5.0
TARGET_NOTIFIER_MB = 150.0
TARGET_DEMO_SECONDS = 20.0


@dataclass(frozen=True)
class Plan:
    e2e_sizes: tuple[int, ...]
    e2e_runs: dict[int, int]
    # Consecutive ordinary days run after the last first-day run of a size, each receiving a delta.
    next_days: dict[int, int]
    athena_sizes: tuple[int, ...]  # measured from the e2e snapshots of these sizes
    athena_extrapolated: int
    glue_runs: dict[int, int]
    notifier_rows: int
    notifier_runs: int
    demo_runs: int
    cost_sizes: tuple[int, ...] = (10_000, 1_000_000, 10_000_000)


# Sized to finish in about ten minutes on two cores: three runs where a run takes seconds, one
# where it takes minutes (the tables say how many).
FULL = Plan(
    e2e_sizes=(10_000, 100_000, 1_000_000),
    e2e_runs={10_000: 3, 100_000: 1, 1_000_000: 1},
    next_days={10_000: 1, 100_000: 1, 1_000_000: 1},
    athena_sizes=(10_000, 1_000_000),
    athena_extrapolated=10_000_000,
    glue_runs={100_000: 3, 1_000_000: 1},
    notifier_rows=1_000_000,
    notifier_runs=3,
    demo_runs=3,
)
# A smoke run of the harness itself (a minute or two); its figures are not the published ones.
QUICK = Plan(
    e2e_sizes=(2_000, 10_000),
    e2e_runs={2_000: 1, 10_000: 1},
    next_days={2_000: 1, 10_000: 1},
    athena_sizes=(2_000, 10_000),
    athena_extrapolated=10_000_000,
    glue_runs={10_000: 1},
    notifier_rows=20_000,
    notifier_runs=1,
    demo_runs=0,
)


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)
