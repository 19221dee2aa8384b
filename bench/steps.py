"""The benchmark steps: generate the inputs, run each benchmark in its own process, derive measurements."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path

from bench.athena_bytes import SnapshotScans, measure_snapshot
from bench.end_to_end import REPO_ROOT, PipelineRun, Spread, linear_fit, run_pipeline, snapshot_folder
from bench.glue_transform import RESULT_PREFIX as GLUE_RESULT_PREFIX
from bench.plan import ANCHOR, BAD_RATIO, DELTA_SHARE, SEED, WORK, Plan, log
from pipeline.cost.model import Measurements
from pipeline.cost.prices import MIB
from pipeline.generate import write_facilities


@dataclass(frozen=True)
class Inputs:
    registry: dict[int, Path]  # the whole registry, as on the first day
    # Each ordinary day's changes: the first DELTA_SHARE of the facility ids with new content.
    delta: dict[int, list[Path]]
    seconds: dict[int, float]  # generator time of each registry


def generate_inputs(plan: Plan) -> Inputs:
    anchor = date.fromisoformat(ANCHOR)
    registry: dict[int, Path] = {}
    delta: dict[int, list[Path]] = {}
    seconds: dict[int, float] = {}
    for size in plan.e2e_sizes:
        registry[size] = WORK / "data" / f"facilities-{size}-seed{SEED}.ndjson"
        started = time.perf_counter()
        write_facilities(registry[size], size, seed=SEED, bad_ratio=BAD_RATIO, anchor_date=anchor)
        seconds[size] = time.perf_counter() - started
        # Ids are FAC + a zero-padded index, so a smaller file with another seed updates the first ids.
        delta[size] = []
        for day in range(1, plan.next_days[size] + 1):
            path = WORK / "data" / f"facilities-{size}-delta-{day}.ndjson"
            write_facilities(path, max(1, round(size * DELTA_SHARE)), SEED + day, BAD_RATIO, anchor)
            delta[size].append(path)
        size_mib = registry[size].stat().st_size / MIB
        log(f"generated {size:,} facilities in {seconds[size]:.1f} s ({size_mib:,.0f} MiB) and their delta")
    return Inputs(registry, delta, seconds)


@dataclass(frozen=True)
class EndToEnd:
    first_day: dict[int, list[PipelineRun]]  # fresh out folder, the whole registry arrives
    next_day: dict[int, list[PipelineRun]]  # on top of it: the delta arrives, the rest is carried forward
    scans: dict[int, SnapshotScans]


def end_to_end(plan: Plan, inputs: Inputs) -> EndToEnd:
    first_day: dict[int, list[PipelineRun]] = {}
    next_day: dict[int, list[PipelineRun]] = {}
    scans: dict[int, SnapshotScans] = {}
    for size in plan.e2e_sizes:
        first_day[size], next_day[size] = [], []
        out = WORK / "e2e" / f"{size}"
        for index in range(plan.e2e_runs[size]):
            label = f"{size:,} facilities, run {index + 1}/{plan.e2e_runs[size]}"
            log(f"pipeline run, first day, {label}")
            logs = WORK / "logs"
            first = run_pipeline(
                inputs.registry[size], ANCHOR, out, logs / f"e2e-{size}-{index + 1}.log", size
            )
            first_day[size].append(first)
            if index == 0 and size in plan.athena_sizes:
                raw_bytes = inputs.registry[size].stat().st_size
                scans[size] = measure_snapshot(snapshot_folder(out, ANCHOR), raw_bytes, facilities=size)
            log(f"  {first.wall_seconds:.1f} s")
        for day, delta in enumerate(inputs.delta[size], start=1):
            as_of = (date.fromisoformat(ANCHOR) + timedelta(days=day)).isoformat()
            log(f"pipeline run, ordinary day {day} ({as_of}, {DELTA_SHARE:.0%} delta), {size:,} facilities")
            following = run_pipeline(delta, as_of, out, logs / f"e2e-{size}-day{day}.log", size, fresh=False)
            next_day[size].append(following)
            log(f"  {following.wall_seconds:.1f} s")
        shutil.rmtree(out, ignore_errors=True)
    return EndToEnd(first_day, next_day, scans)


_NOTIFIER = re.compile(r"in ([\d.]+) s = ([\d,]+) rows/s; peak RSS ([\d.]+) MB")


@dataclass(frozen=True)
class GlueRun:
    """The n-th timed run of each variant over the same feed (the job and its floor in one JVM, the naive
    variant in another)."""

    ours_seconds: float
    ours_rate: float
    naive_seconds: float
    naive_rate: float
    floor_seconds: float

    @property
    def speedup(self) -> float:
        return self.ours_rate / self.naive_rate

    @property
    def floor_ratio(self) -> float:
        """The job's seconds over the engine floor's: what its guarantees cost beyond parse and write."""
        return self.ours_seconds / self.floor_seconds


@dataclass(frozen=True)
class NotifierRun:
    seconds: float
    rows_per_second: float
    peak_mb: float


def _module_output(module: str, arguments: list[str], log_name: str) -> str:
    """Run `python -m module` in its own process (its own peak memory, its own Spark) and return stdout."""
    command = [sys.executable, "-m", module, *arguments]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    log_path = WORK / "logs" / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(completed.stdout + completed.stderr, encoding="utf-8")
    if completed.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` exited with {completed.returncode}; see {log_path}")
    return completed.stdout


# Each timed variant and the process that times it.
GLUE_TIMED = {"ours": "ours", "naive": "naive", "floor": "ours"}


def glue_feeds(plan: Plan, inputs: Inputs) -> dict[int, Path]:
    """Per size, a folder holding the registry and its first delta: a first day with updates to dedupe.

    Hard links, not copies: the files are the e2e inputs, already generated (and cached by the OS).
    Named so that the delta sorts after the registry, the order in which they arrived.
    """
    feeds = {}
    for size in plan.glue_runs:
        feed = WORK / "glue" / f"feed-{size}"
        shutil.rmtree(feed, ignore_errors=True)
        feed.mkdir(parents=True)
        os.link(inputs.registry[size], feed / "0-registry.ndjson")
        os.link(inputs.delta[size][0], feed / "1-delta.ndjson")
        feeds[size] = feed
    return feeds


def glue_results(output: str, variant: str) -> dict[str, list[tuple[float, float]]]:
    """Feed folder -> (seconds, records/s) of each timed run of `variant`, from one bench.glue_transform
    process's output, in the order they ran."""
    runs: dict[str, list[tuple[float, float]]] = {}
    for line in output.splitlines():
        if line.startswith(GLUE_RESULT_PREFIX):
            result = json.loads(line.removeprefix(GLUE_RESULT_PREFIX))
            if result["variant"] == variant:
                runs.setdefault(result["feed"], []).append(
                    (result["seconds"], result["lines"] / result["seconds"])
                )
    return runs


def glue_transform(plan: Plan, inputs: Inputs) -> dict[int, list[GlueRun]]:
    """One process per variant, each timing the same runs over the same feeds in the same order.

    The smaller feed goes first: its runs warm the JVM's compiler further for the 1M runs, as a
    long-lived Glue worker would be, and they do so for both variants alike.
    """
    if not plan.glue_runs:
        return {}
    feeds = glue_feeds(plan, inputs)
    measure = [
        str(part) for size in sorted(feeds) for part in ("--measure", plan.glue_runs[size], feeds[size])
    ]
    outputs = {}
    for variant in ("ours", "naive"):
        log(
            f"Glue transform, {variant} variant: "
            + ", ".join(f"{plan.glue_runs[size]} run(s) at {size:,} facilities" for size in sorted(feeds))
        )
        outputs[variant] = _module_output(
            "bench.glue_transform",
            ["--variant", variant, *measure, "--work-dir", str(WORK / "glue")],
            f"glue-{variant}.log",
        )
    # The floor's runs come from the job's process: each right after the job's run, in its session.
    timings = {name: glue_results(outputs[process], name) for name, process in GLUE_TIMED.items()}
    results: dict[int, list[GlueRun]] = {}
    for size, feed in sorted(feeds.items()):
        ours, naive, floor = (timings[name].get(str(feed), []) for name in ("ours", "naive", "floor"))
        if not len(ours) == len(naive) == len(floor) == plan.glue_runs[size]:
            raise RuntimeError(
                f"bench.glue_transform timed {len(ours)}, {len(naive)} and {len(floor)} runs of {feed}"
            )
        results[size] = [
            GlueRun(*mine, *theirs, bare[0]) for mine, theirs, bare in zip(ours, naive, floor, strict=True)
        ]
        for run in results[size]:
            seconds = f"ours {run.ours_seconds:.1f} s, naive {run.naive_seconds:.1f} s"
            log(
                f"  {size:,}: {seconds}, {run.speedup:.2f}x; floor {run.floor_seconds:.1f} s, "
                f"job/floor {run.floor_ratio:.2f}x"
            )
    shutil.rmtree(WORK / "glue", ignore_errors=True)
    return results


def notifier(plan: Plan) -> list[NotifierRun]:
    runs = []
    for index in range(plan.notifier_runs):
        log(f"notifier, {plan.notifier_rows:,} stage-2 rows, run {index + 1}/{plan.notifier_runs}")
        output = _module_output(
            "bench.notifier",
            ["--rows", str(plan.notifier_rows), "--out", str(WORK / "notifier")],
            f"notifier-{index + 1}.log",
        )
        match = _NOTIFIER.search(output)
        if not match:
            raise RuntimeError(f"unexpected output of bench.notifier:\n{output}")
        runs.append(NotifierRun(float(match[1]), float(match[2].replace(",", "")), float(match[3])))
        log(f"  {runs[-1].seconds:.2f} s, peak {runs[-1].peak_mb:.0f} MB")
    return runs


def make_demo(plan: Plan) -> list[float]:
    seconds = []
    for index in range(plan.demo_runs):
        log(f"make demo, run {index + 1}/{plan.demo_runs}")
        started = time.perf_counter()
        completed = subprocess.run(
            ["make", "demo"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
        (WORK / "logs" / f"demo-{index + 1}.log").write_text(
            completed.stdout + completed.stderr, encoding="utf-8"
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"make demo exited with {completed.returncode}; see bench/out/logs/demo-{index + 1}.log"
            )
        seconds.append(elapsed)
        log(f"  {elapsed:.1f} s")
    return seconds


def _curate_fit(runs: dict[int, list[PipelineRun]]) -> tuple[float, float]:
    return linear_fit(
        [
            (size, Spread.of([r.stages["curate"] for r in size_runs]).median)
            for size, size_runs in runs.items()
        ]
    )


def run_step(name: str, failures: dict[str, str], action, empty):
    """Run one benchmark; a failure is recorded in RESULTS.md and the exit code, the rest still runs."""
    try:
        return action()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        log(f"{name} failed: {error}")
        failures[name] = str(error).splitlines()[0]
        return empty


def measurements_from(e2e: EndToEnd) -> Measurements:
    """Per-facility inputs of the cost model, from the e2e runs and the largest measured snapshot."""
    runs, scans = e2e.first_day, e2e.scans
    largest = max(scans)
    scan = scans[largest]
    curate_fixed, curate_slope = _curate_fit(e2e.next_day)
    reload_fixed, reload_slope = _curate_fit(e2e.first_day)
    notifier_points = []
    for size_runs in runs.values():
        rows = size_runs[0].rows.get("expiring_accreditations", 0) + size_runs[0].rows.get(
            "lapsed_accreditations", 0
        )
        notifier_points.append((rows, Spread.of([r.stages["notify_alerts"] for r in size_runs]).median))
    notifier_fixed, notifier_slope = linear_fit(notifier_points)
    rows_largest = max(runs)
    notifier_rows = notifier_points[list(runs).index(rows_largest)][0]
    return Measurements(
        measured_on=f"{datetime.now(UTC):%Y-%m-%d}, {platform.node() or 'this machine'}",
        facilities_measured=largest,
        raw_bytes_per_facility=scan.raw_bytes / largest,
        curated_bytes_per_facility=scan.partition_bytes / largest,
        curated_files_per_snapshot=scan.partition_files,
        query_bytes_per_facility={q.stage: q.curated_bytes / largest for q in scan.queries},
        query_leaf_columns={q.stage: q.leaf_columns for q in scan.queries},
        delta_share=DELTA_SHARE,
        curate_seconds_fixed=curate_fixed,
        curate_seconds_per_facility=curate_slope,
        reload_seconds_fixed=reload_fixed,
        reload_seconds_per_facility=reload_slope,
        notifier_seconds_fixed=notifier_fixed,
        notifier_seconds_per_row=notifier_slope,
        notifier_rows_per_facility=notifier_rows / rows_largest,
    )


def environment() -> list[tuple[str, str]]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    cpu = "unknown"
    memory = "unknown"
    if Path("/proc/cpuinfo").exists():
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = names[0] if names else cpu
    if Path("/proc/meminfo").exists():
        total = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        memory = f"{int(total[1]) / 1024**2:.1f} GiB" if total else memory
    java = subprocess.run(
        ["java", "-version"], capture_output=True, text=True, check=False
    ).stderr.splitlines()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return [
        ("Date (UTC)", f"{datetime.now(UTC):%Y-%m-%d %H:%M}"),
        ("Commit", commit or "unknown"),
        ("Machine", f"{cpu}, {os.cpu_count()} cores, {memory} RAM ({platform.machine()})"),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("Java", java[0] if java else "unknown"),
        (
            "PySpark / DuckDB / PyArrow / sqlglot",
            " / ".join(version(name) for name in ("pyspark", "duckdb", "pyarrow", "sqlglot")),
        ),
    ]
