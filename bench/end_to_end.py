"""End-to-end runs of `python -m pipeline run` on generated registries: wall time per stage."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PipelineRun:
    facilities: int
    wall_seconds: float  # the whole command, process start to exit
    stages: dict[str, float]  # stage name -> seconds, from run_summary.json
    rows: dict[str, int]  # query stage -> result rows
    counts: dict[str, int]  # curation counts (input lines, curated, quarantined, ...)
    out: Path


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values), len(values))

    def text(self, unit: str = "s", digits: int = 2) -> str:
        suffix = unit if unit == "x" else f" {unit}"
        median = f"{self.median:,.{digits}f}{suffix}"
        if self.runs == 1:
            return median
        return f"{median} ({self.low:,.{digits}f}-{self.high:,.{digits}f})"


def run_pipeline(
    input_path: Path, as_of: str, out: Path, log: Path, facilities: int, fresh: bool = True
) -> PipelineRun:
    """One `python -m pipeline run` (its own process and Spark) as a user runs it.

    fresh=True starts from an empty out folder (the first snapshot); fresh=False runs on top of the
    snapshots already there, as the next day's run does.
    """
    if fresh and out.exists():
        shutil.rmtree(out)
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "--input",
        str(input_path),
        "--as-of",
        as_of,
        "--out",
        str(out),
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as handle:
        completed = subprocess.run(
            command, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT, check=False
        )
    wall = time.perf_counter() - started
    summary_path = out / "run_summary.json"
    if completed.returncode != 0 or not summary_path.exists():
        raise RuntimeError(f"`{' '.join(command)}` exited with {completed.returncode}; see {log}")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return PipelineRun(
        facilities=facilities,
        wall_seconds=wall,
        stages={stage["name"]: float(stage["seconds"]) for stage in summary["stages"]},
        rows={name: int(rows) for name, rows in summary.get("rows", {}).items()},
        counts={
            name: value for name, value in summary.get("data_quality", {}).items() if isinstance(value, int)
        },
        out=out,
    )


def stage_spreads(runs: Sequence[PipelineRun]) -> dict[str, Spread]:
    """Median and range of each stage over runs, in the order the first run recorded the stages."""
    names = list(runs[0].stages)
    spreads = {name: Spread.of([run.stages[name] for run in runs if name in run.stages]) for name in names}
    spreads["total (command wall time)"] = Spread.of([run.wall_seconds for run in runs])
    return spreads


def snapshot_folder(out: Path, as_of: str) -> Path:
    """Folder of the facilities snapshot partition of `as_of` that the catalog points at."""
    try:
        from pipeline.local.catalog import local_table_partitions

        partitions = local_table_partitions((out / "curated").resolve().as_uri() + "/", "facilities")
    except (ImportError, OSError, ValueError, KeyError):
        partitions = {}
    if as_of in partitions:
        location = partitions[as_of]
        return Path(location.removeprefix("file://")) if location.startswith("file://") else Path(location)
    base = out / "curated" / "facilities" / f"snapshot_date={as_of}"
    runs = [path for path in base.glob("*") if path.is_dir()]
    # One folder per job run; the newest one is the committed snapshot.
    return max(runs, key=lambda path: path.stat().st_mtime) if runs else base


def linear_fit(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (intercept, slope) of y over x, neither negative.

    Time never shrinks as input grows: when noise makes the fitted slope negative, the fit falls back
    to a constant (the mean), and a negative intercept to a line through the origin.
    """
    if len(points) < 2:
        x, y = points[0]
        return 0.0, y / x if x else 0.0
    xs, ys = zip(*points, strict=True)
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    if slope <= 0:
        return mean_y, 0.0
    intercept = mean_y - slope * mean_x
    if intercept < 0:
        return 0.0, sum(x * y for x, y in points) / sum(x * x for x in xs)
    return intercept, slope
