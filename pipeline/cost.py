"""Dollars per daily run on AWS, this design against the seed design (Athena straight over raw NDJSON)."""

from __future__ import annotations

import argparse
import heapq
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

from pipeline.sizing import DEFAULT_SIZING

MIB = 1024 * 1024
TIB = 1024**4

# `make bench` writes its measurements here; `python -m pipeline cost` reads them.
DEFAULT_MEASUREMENTS = Path(__file__).resolve().parent.parent / "bench" / "measurements.json"

MEASURED = "measured"
CITED = "cited"
ESTIMATED = "estimated"


@dataclass(frozen=True)
class Prices:
    """On-demand list prices, us-east-1, without free tiers (a stack's other usage may already spend them)."""

    # "AWS Glue pricing": Spark jobs (Glue 2.0+) billed per second with a 1-minute minimum;
    # G.1X = 1 DPU per worker, at least 2 workers.
    glue_standard_dpu_hour: float = 0.44
    glue_flex_dpu_hour: float = 0.29
    glue_minimum_seconds: float = 60.0
    glue_dpu_per_worker: float = 1.0
    # "AWS Glue pricing": crawlers billed per second with a 10-minute minimum per run; the page's
    # worked example crawler uses 2 DPUs.
    crawler_dpu_hour: float = 0.44
    crawler_minimum_seconds: float = 600.0
    crawler_dpus: float = 2.0
    # "Amazon Athena pricing": $5 per TB scanned, rounded up to the nearest megabyte, 10 MB minimum
    # per query. Binary units, as AWS bills them.
    athena_per_tib: float = 5.0
    athena_minimum_bytes: int = 10 * MIB
    athena_rounding_bytes: int = MIB
    # "AWS Step Functions pricing": Standard workflows, $0.025 per 1,000 state transitions.
    step_functions_per_transition: float = 0.025 / 1000
    # "AWS Lambda pricing": x86, $0.0000166667 per GB-second and $0.20 per 1M requests.
    lambda_gb_second: float = 0.0000166667
    lambda_per_request: float = 0.20 / 1_000_000
    # "Amazon S3 pricing": S3 Standard, PUT/COPY/POST/LIST $0.005 per 1,000, GET $0.0004 per 1,000;
    # storage $0.023 per GB-month (first 50 TB).
    s3_put_per_request: float = 0.005 / 1000
    s3_get_per_request: float = 0.0004 / 1000
    s3_storage_gb_month: float = 0.023
    # "Amazon SNS pricing": $0.50 per 1M publishes. "Amazon DynamoDB pricing": on-demand,
    # $0.625 per 1M write request units (the notifier's idempotency records).
    sns_per_publish: float = 0.50 / 1_000_000
    dynamodb_per_write: float = 0.625 / 1_000_000


@dataclass(frozen=True)
class Deployment:
    """How the stack is sized; the defaults are a default stack's (pipeline/sizing.py)."""

    glue_workers: int = DEFAULT_SIZING.glue_workers
    notifier_memory_mb: int = DEFAULT_SIZING.notifier_memory_mb
    # Notifier publishes on an ordinary day: three tier digests and the status message.
    sns_publishes: int = 4
    # One G.1X executor (4 vCPU) against the local[2] measurement; 1.0 assumes no speed-up at all.
    glue_speedup_over_local: float = 1.0


@dataclass(frozen=True)
class Measurements:
    """Per-facility figures measured by `make bench` on generated registries (see bench/RESULTS.md)."""

    measured_on: str
    facilities_measured: int
    raw_bytes_per_facility: float
    curated_bytes_per_facility: float
    curated_files_per_snapshot: int
    # Bytes of the referenced column chunks of one snapshot partition, per facility, per stage query.
    query_bytes_per_facility: dict[str, float]
    # Leaf columns each stage query reads (for the count of ranged GETs Athena issues).
    query_leaf_columns: dict[str, int]
    # Local curate stage time = fixed + per_facility * facilities (least squares over measured sizes),
    # on an ordinary day (a delta of delta_share of the registry arrives; the rest is carried forward
    # from the previous snapshot) and on a full reload (the whole registry arrives again).
    delta_share: float
    curate_seconds_fixed: float
    curate_seconds_per_facility: float
    reload_seconds_fixed: float
    reload_seconds_per_facility: float
    notifier_seconds_fixed: float
    notifier_seconds_per_row: float
    notifier_rows_per_facility: float

    @classmethod
    def from_dict(cls, data: dict) -> Measurements:
        names = {field.name for field in fields(cls)}
        missing = sorted(names - set(data))
        if missing:
            raise ValueError(f"measurements lack {', '.join(missing)}")
        return cls(**{name: data[name] for name in names})


def load_measurements(path: Path = DEFAULT_MEASUREMENTS) -> Measurements:
    return Measurements.from_dict(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: str
    dollars: float
    basis: str  # MEASURED, CITED or ESTIMATED: where the quantity comes from


@dataclass(frozen=True)
class DesignCost:
    design: str
    lines: tuple[CostLine, ...]

    @property
    def total(self) -> float:
        return sum(line.dollars for line in self.lines)

    def dollars(self, item: str) -> float:
        return sum(line.dollars for line in self.lines if line.item == item)


@dataclass(frozen=True)
class CostComparison:
    facilities: int
    scenario: str
    glue_workers: int
    glue_job_seconds: float
    flex: DesignCost
    standard: DesignCost
    seed: DesignCost
    # Not part of a daily run: the crawler runs on the first run and on schema changes only.
    crawler_run: CostLine
    # Storage grows with retention; shown per month of one day's snapshot, not per run.
    snapshot_storage_month: CostLine


GLUE_JOB = "Glue job"
ATHENA = "Athena queries"
STEP_FUNCTIONS = "Step Functions"
LAMBDA = "Lambda (notifier)"
S3_REQUESTS = "S3 requests"
MESSAGING = "SNS + DynamoDB"


def athena_billed_bytes(scanned_bytes: float, prices: Prices = Prices()) -> int:
    """Bytes Athena bills for one query: rounded up to the megabyte, at least the per-query minimum."""
    rounded = math.ceil(scanned_bytes / prices.athena_rounding_bytes) * prices.athena_rounding_bytes
    return max(prices.athena_minimum_bytes, rounded)


def glue_billed_dpu_seconds(job_seconds: float, workers: int, prices: Prices = Prices()) -> float:
    return workers * prices.glue_dpu_per_worker * max(prices.glue_minimum_seconds, job_seconds)


def crawler_run_dollars(crawl_seconds: float = 0.0, prices: Prices = Prices()) -> float:
    billed = max(prices.crawler_minimum_seconds, crawl_seconds)
    return prices.crawler_dpus * billed / 3600 * prices.crawler_dpu_hour


def transitions_to(definition: dict, target: str) -> int:
    """Fewest state transitions of an execution that ends in state `target` of `definition`.

    Every state entered is one transition (Parallel states count themselves plus each branch's
    path); Choice states may go either way, so this is the cheapest path, which on an ordinary
    day is the path the pipeline takes (no crawler, no upload guard).
    """
    return _shortest_path(definition["States"], definition["StartAt"], target)


def _shortest_path(states: dict, start: str, target: str | None) -> int:
    """Transitions from `start` to `target` (None: to any end of this state list)."""

    def entered(name: str) -> int:
        state = states[name]
        cost = 1
        for branch in state.get("Branches", ()):
            cost += _shortest_path(branch["States"], branch["StartAt"], None)
        return cost

    queue = [(entered(start), start)]
    best: dict[str, int] = {}
    while queue:
        cost, name = heapq.heappop(queue)
        if name in best:
            continue
        best[name] = cost
        state = states[name]
        if name == target or (target is None and (state.get("End") or state["Type"] in ("Succeed", "Fail"))):
            return cost
        followers = [choice["Next"] for choice in state.get("Choices", ())]
        followers += [state[key] for key in ("Next", "Default") if key in state]
        for follower in followers:
            if follower not in best:
                heapq.heappush(queue, (cost + entered(follower), follower))
    raise ValueError(f"no path from {start!r} to {target or 'an end state'!r}")


def ordinary_day_transitions() -> tuple[int, int]:
    """Transitions of an ordinary scheduled run: this design's, and the seed design's.

    The seed design has no Glue job, curation report read or crawler decision: the same
    definition without those three states.
    """
    from pipeline.state_machine import PIPELINE_SUCCEEDED, PLACEHOLDER_TARGETS, build_state_machine

    ours = transitions_to(build_state_machine(PLACEHOLDER_TARGETS), PIPELINE_SUCCEEDED)
    return ours, ours - 3


def compare(
    facilities: int,
    measurements: Measurements,
    prices: Prices = Prices(),
    deployment: Deployment = Deployment(),
    transitions: tuple[int, int] | None = None,
    full_reload: bool = False,
) -> CostComparison:
    """Cost of one daily run at `facilities`, per design, from measured and cited inputs.

    An ordinary day curates the day's delta and carries the rest forward; `full_reload` prices a day
    on which the whole registry arrives again. The seed design scans the raw NDJSON in full either
    way, taken as one registry's worth of bytes (with deltas it would also scan every earlier file).
    """
    ours_transitions, seed_transitions = transitions or ordinary_day_transitions()
    m = measurements
    raw_bytes = m.raw_bytes_per_facility * facilities
    fixed, per_facility = (
        (m.reload_seconds_fixed, m.reload_seconds_per_facility)
        if full_reload
        else (m.curate_seconds_fixed, m.curate_seconds_per_facility)
    )
    job_seconds = (fixed + per_facility * facilities) / deployment.glue_speedup_over_local
    dpu_seconds = glue_billed_dpu_seconds(job_seconds, deployment.glue_workers, prices)

    def glue_line(rate: float) -> CostLine:
        return CostLine(
            GLUE_JOB,
            f"{deployment.glue_workers} x G.1X, {job_seconds:.0f} s run, {dpu_seconds:.0f} DPU-s billed",
            dpu_seconds / 3600 * rate,
            MEASURED,
        )

    curated_scans = {stage: per * facilities for stage, per in m.query_bytes_per_facility.items()}
    ours_athena = _athena_line(list(curated_scans.values()), "curated column chunks", prices)
    seed_athena = _athena_line([raw_bytes] * len(curated_scans), "raw NDJSON in full", prices)

    notifier_rows = m.notifier_rows_per_facility * facilities
    notifier_seconds = m.notifier_seconds_fixed + m.notifier_seconds_per_row * notifier_rows
    gb_seconds = deployment.notifier_memory_mb / 1024 * notifier_seconds
    lambda_line = CostLine(
        LAMBDA,
        f"{deployment.notifier_memory_mb} MB x {notifier_seconds:.1f} s, 1 request",
        gb_seconds * prices.lambda_gb_second + prices.lambda_per_request,
        MEASURED,
    )
    messaging_line = CostLine(
        MESSAGING,
        f"{deployment.sns_publishes} publishes, {deployment.sns_publishes} idempotency writes",
        deployment.sns_publishes * (prices.sns_per_publish + prices.dynamodb_per_write),
        ESTIMATED,
    )

    ours_puts, ours_gets = _s3_requests_ours(facilities, m, raw_bytes, curated_scans)
    seed_puts, seed_gets = _s3_requests_seed(raw_bytes, len(curated_scans))

    def s3_line(puts: int, gets: int) -> CostLine:
        return CostLine(
            S3_REQUESTS,
            f"{puts} PUT/COPY/LIST, {gets} GET",
            puts * prices.s3_put_per_request + gets * prices.s3_get_per_request,
            ESTIMATED,
        )

    def sfn_line(count: int, basis: str) -> CostLine:
        dollars = count * prices.step_functions_per_transition
        return CostLine(STEP_FUNCTIONS, f"{count} transitions", dollars, basis)

    shared = (lambda_line, messaging_line)
    ours_common = (ours_athena, sfn_line(ours_transitions, MEASURED), *shared, s3_line(ours_puts, ours_gets))
    snapshot_gb = m.curated_bytes_per_facility * facilities / 1024**3
    scenario = "full reload" if full_reload else f"ordinary day ({m.delta_share:.0%} delta)"
    return CostComparison(
        facilities=facilities,
        scenario=scenario,
        glue_workers=deployment.glue_workers,
        glue_job_seconds=job_seconds,
        flex=DesignCost("this design, Glue Flex", (glue_line(prices.glue_flex_dpu_hour), *ours_common)),
        standard=DesignCost(
            "this design, Glue standard", (glue_line(prices.glue_standard_dpu_hour), *ours_common)
        ),
        seed=DesignCost(
            "seed design",
            (seed_athena, sfn_line(seed_transitions, ESTIMATED), *shared, s3_line(seed_puts, seed_gets)),
        ),
        crawler_run=CostLine(
            "Glue crawler run",
            f"{prices.crawler_dpus:.0f} DPU x 10-minute minimum; first run and schema changes only",
            crawler_run_dollars(prices=prices),
            CITED,
        ),
        snapshot_storage_month=CostLine(
            "S3 storage of one snapshot",
            f"{snapshot_gb * 1024:.1f} MiB for a month",
            snapshot_gb * prices.s3_storage_gb_month,
            MEASURED,
        ),
    )


def _athena_line(scans: list[float], what: str, prices: Prices) -> CostLine:
    billed = sum(athena_billed_bytes(scan, prices) for scan in scans)
    return CostLine(
        ATHENA,
        f"{len(scans)} queries, {billed / MIB:,.0f} MiB billed ({what})",
        billed / TIB * prices.athena_per_tib,
        MEASURED,
    )


# Spark and Athena read objects in splits of about this size, one ranged GET each.
_SPLIT_BYTES = 128 * MIB


def _s3_requests_ours(
    facilities: int, m: Measurements, raw_bytes: float, curated_scans: dict[str, float]
) -> tuple[int, int]:
    files = m.curated_files_per_snapshot
    raw_gets = 1 + math.ceil(raw_bytes / _SPLIT_BYTES)
    # Glue: lists raw/ and curated/, reads the previous snapshot to carry it forward (footer and
    # column chunks per file), writes the snapshot, data-quality issues, quarantine, report, manifest.
    glue_puts = 4 + 2 * files + 3
    glue_gets = raw_gets + 2 * files
    athena_gets = sum(files * (1 + m.query_leaf_columns.get(stage, 1)) for stage in curated_scans)
    return _shared_puts(len(curated_scans)) + glue_puts, _shared_gets() + glue_gets + athena_gets


def _s3_requests_seed(raw_bytes: float, queries: int) -> tuple[int, int]:
    athena_gets = queries * (1 + math.ceil(raw_bytes / _SPLIT_BYTES))
    return _shared_puts(queries), _shared_gets() + athena_gets


def _shared_puts(queries: int) -> int:
    # The raw upload, each query's CSV and .metadata, the alerts CSV, 5 results copied twice (as_of, latest).
    return 1 + 2 * queries + 1 + 10


def _shared_gets() -> int:
    # The notifier reads the expiring and lapsed CSVs; the state machine reads the curation report.
    return 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m pipeline cost`."""
    parser.add_argument(
        "--facilities",
        type=int,
        action="append",
        metavar="N",
        help="registry size; repeat for several (default: 10000, 1000000, 10000000)",
    )
    parser.add_argument(
        "--measurements",
        type=Path,
        default=DEFAULT_MEASUREMENTS,
        metavar="PATH",
        help="measurements written by `make bench` (default bench/measurements.json)",
    )
    parser.add_argument(
        "--full-reload",
        action="store_true",
        help="price a day on which the whole registry arrives again (default: an ordinary day's delta)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the cost table for each requested registry size."""
    from pipeline.errors import UsageError

    sizes = args.facilities or [10_000, 1_000_000, 10_000_000]
    if any(size <= 0 for size in sizes):
        raise UsageError("--facilities must be a positive integer")
    try:
        measurements = load_measurements(args.measurements)
    except FileNotFoundError:
        raise UsageError(f"no measurements at {args.measurements}; run `make bench` first") from None
    except ValueError as error:
        raise UsageError(f"{args.measurements}: {error}") from None
    from rich.console import Console

    console = Console()
    for size in sizes:
        comparison = compare(size, measurements, full_reload=args.full_reload)
        console.print(cost_table(comparison))
        console.print(verdict(comparison))
        console.print()
    console.print(f"Inputs measured on {measurements.measured_on}; see bench/RESULTS.md.")
    return 0


def cost_table(comparison: CostComparison):
    """A rich Table of one comparison: one row per cost item, one column per design."""
    from rich.table import Table

    table = Table(
        title=f"AWS cost per daily run, {comparison.facilities:,} facilities, {comparison.scenario}"
    )
    table.add_column("Item")
    table.add_column("This design (Flex)", justify="right")
    table.add_column("This design (standard)", justify="right")
    table.add_column("Seed design", justify="right")
    table.add_column("Basis")
    for row in cost_rows(comparison):
        table.add_row(*row)
    return table


def cost_rows(comparison: CostComparison) -> list[tuple[str, str, str, str, str]]:
    """Rows (item, flex, standard, seed, basis and quantities) shared by the table and RESULTS.md."""
    designs = (comparison.flex, comparison.standard, comparison.seed)
    rows = []
    for item in (GLUE_JOB, ATHENA, STEP_FUNCTIONS, LAMBDA, S3_REQUESTS, MESSAGING):
        lines = [next((line for line in design.lines if line.item == item), None) for design in designs]
        quantities = "; ".join(dict.fromkeys(line.quantity for line in lines if line is not None))
        basis = next(line.basis for line in lines if line is not None)
        amounts = (_money(line.dollars) if line else "-" for line in lines)
        rows.append((item, *amounts, f"{basis}: {quantities}"))
    rows.append(("Total per run", *(_money(design.total) for design in designs), ""))
    crawler = comparison.crawler_run
    rows.append(
        (
            f"{crawler.item} (not daily)",
            _money(crawler.dollars),
            _money(crawler.dollars),
            "-",
            f"{crawler.basis}: {crawler.quantity}",
        )
    )
    storage = comparison.snapshot_storage_month
    rows.append(
        (
            f"{storage.item} (not per run)",
            _money(storage.dollars),
            _money(storage.dollars),
            "-",
            f"{storage.basis}: {storage.quantity}",
        )
    )
    return rows


def verdict(comparison: CostComparison, prices: Prices = Prices()) -> str:
    """One sentence: which design is cheaper at this size, and why."""
    ours, seed = comparison.flex.total, comparison.seed.total
    size = f"{comparison.facilities:,}"
    if ours > seed:
        if comparison.glue_job_seconds <= prices.glue_minimum_seconds:
            reason = (
                f"Glue's 1-minute minimum on {comparison.glue_workers} workers dominates while the raw "
                "file is small enough that scanning it in full stays cheap"
            )
        else:
            reason = (
                f"the Glue job ({comparison.glue_job_seconds:.0f} s on {comparison.glue_workers} workers) "
                "costs more than the bytes it saves Athena"
            )
        return (
            f"At {size} facilities this design costs {ours / seed:.1f}x the seed design "
            f"(${ours:.4f} vs ${seed:.4f}): {reason}."
        )
    saving = f"{seed / ours:.1f}x cheaper" if seed >= 1.5 * ours else f"{1 - ours / seed:.0%} cheaper"
    return (
        f"At {size} facilities this design costs ${ours:.4f} against ${seed:.4f} for the seed design, "
        f"{saving}: Athena reads only the referenced column chunks of one snapshot."
    )


def _money(dollars: float) -> str:
    return f"${dollars:.6f}" if dollars < 0.01 else f"${dollars:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline cost", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
