"""The cost of one daily run per design: what it uses, from the measurements, priced one service at a time."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

from pipeline.cost.prices import (
    DEFAULT_PRICES,
    MIB,
    TIB,
    Prices,
    athena_billed_bytes,
    crawler_run_dollars,
    glue_billed_dpu_seconds,
)
from pipeline.cost.transitions import ordinary_day_transitions
from pipeline.sizing import DEFAULT_SIZING

# `make bench` writes its measurements here; `python -m pipeline cost` reads them.
DEFAULT_MEASUREMENTS = Path(__file__).resolve().parents[2] / "bench" / "measurements.json"

MEASURED = "measured"
CITED = "cited"
ESTIMATED = "estimated"


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


DEFAULT_DEPLOYMENT = Deployment()

GLUE_JOB = "Glue job"
ATHENA = "Athena queries"
STEP_FUNCTIONS = "Step Functions"
LAMBDA = "Lambda (notifier)"
S3_REQUESTS = "S3 requests"
MESSAGING = "SNS + DynamoDB"


@dataclass(frozen=True)
class DailyUsage:
    """What one daily run uses, from the measurements."""

    raw_bytes: float
    job_seconds: float
    # Bytes each stage query reads from the curated snapshot.
    curated_scans: dict[str, float]
    notifier_seconds: float

    @classmethod
    def of(cls, facilities: int, m: Measurements, deployment: Deployment, full_reload: bool) -> DailyUsage:
        fixed, per_facility = (
            (m.reload_seconds_fixed, m.reload_seconds_per_facility)
            if full_reload
            else (m.curate_seconds_fixed, m.curate_seconds_per_facility)
        )
        notifier_rows = m.notifier_rows_per_facility * facilities
        return cls(
            raw_bytes=m.raw_bytes_per_facility * facilities,
            job_seconds=(fixed + per_facility * facilities) / deployment.glue_speedup_over_local,
            curated_scans={stage: per * facilities for stage, per in m.query_bytes_per_facility.items()},
            notifier_seconds=m.notifier_seconds_fixed + m.notifier_seconds_per_row * notifier_rows,
        )


def compare(
    facilities: int,
    measurements: Measurements,
    prices: Prices = DEFAULT_PRICES,
    deployment: Deployment = DEFAULT_DEPLOYMENT,
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
    day = DailyUsage.of(facilities, m, deployment, full_reload)
    queries = len(day.curated_scans)
    shared = (_lambda_line(day, deployment, prices), _messaging_line(deployment, prices))
    ours_common = (
        _athena_line(list(day.curated_scans.values()), "curated column chunks", prices),
        _sfn_line(ours_transitions, MEASURED, prices),
        *shared,
        _s3_line(*_s3_requests_ours(m, day), prices),
    )
    seed_lines = (
        _athena_line([day.raw_bytes] * queries, "raw NDJSON in full", prices),
        _sfn_line(seed_transitions, ESTIMATED, prices),
        *shared,
        _s3_line(*_s3_requests_seed(day.raw_bytes, queries), prices),
    )
    return CostComparison(
        facilities=facilities,
        scenario="full reload" if full_reload else f"ordinary day ({m.delta_share:.0%} delta)",
        glue_workers=deployment.glue_workers,
        glue_job_seconds=day.job_seconds,
        flex=DesignCost(
            "this design, Glue Flex",
            (_glue_line(day, deployment, prices, prices.glue_flex_dpu_hour), *ours_common),
        ),
        standard=DesignCost(
            "this design, Glue standard",
            (_glue_line(day, deployment, prices, prices.glue_standard_dpu_hour), *ours_common),
        ),
        seed=DesignCost("seed design", seed_lines),
        crawler_run=_crawler_line(prices),
        snapshot_storage_month=_snapshot_storage_line(facilities, m, prices),
    )


def _glue_line(day: DailyUsage, deployment: Deployment, prices: Prices, dpu_hour: float) -> CostLine:
    dpu_seconds = glue_billed_dpu_seconds(day.job_seconds, deployment.glue_workers, prices)
    return CostLine(
        GLUE_JOB,
        f"{deployment.glue_workers} x G.1X, {day.job_seconds:.0f} s run, {dpu_seconds:.0f} DPU-s billed",
        dpu_seconds / 3600 * dpu_hour,
        MEASURED,
    )


def _athena_line(scans: list[float], what: str, prices: Prices) -> CostLine:
    billed = sum(athena_billed_bytes(scan, prices) for scan in scans)
    return CostLine(
        ATHENA,
        f"{len(scans)} queries, {billed / MIB:,.0f} MiB billed ({what})",
        billed / TIB * prices.athena_per_tib,
        MEASURED,
    )


def _lambda_line(day: DailyUsage, deployment: Deployment, prices: Prices) -> CostLine:
    gb_seconds = deployment.notifier_memory_mb / 1024 * day.notifier_seconds
    return CostLine(
        LAMBDA,
        f"{deployment.notifier_memory_mb} MB x {day.notifier_seconds:.1f} s, 1 request",
        gb_seconds * prices.lambda_gb_second + prices.lambda_per_request,
        MEASURED,
    )


def _messaging_line(deployment: Deployment, prices: Prices) -> CostLine:
    publishes = deployment.sns_publishes
    return CostLine(
        MESSAGING,
        f"{publishes} publishes, {publishes} idempotency writes",
        publishes * (prices.sns_per_publish + prices.dynamodb_per_write),
        ESTIMATED,
    )


def _sfn_line(count: int, basis: str, prices: Prices) -> CostLine:
    dollars = count * prices.step_functions_per_transition
    return CostLine(STEP_FUNCTIONS, f"{count} transitions", dollars, basis)


def _s3_line(puts: int, gets: int, prices: Prices) -> CostLine:
    return CostLine(
        S3_REQUESTS,
        f"{puts} PUT/COPY/LIST, {gets} GET",
        puts * prices.s3_put_per_request + gets * prices.s3_get_per_request,
        ESTIMATED,
    )


def _crawler_line(prices: Prices) -> CostLine:
    return CostLine(
        "Glue crawler run",
        f"{prices.crawler_dpus:.0f} DPU x 10-minute minimum; first run and schema changes only",
        crawler_run_dollars(prices=prices),
        CITED,
    )


def _snapshot_storage_line(facilities: int, m: Measurements, prices: Prices) -> CostLine:
    snapshot_gb = m.curated_bytes_per_facility * facilities / 1024**3
    return CostLine(
        "S3 storage of one snapshot",
        f"{snapshot_gb * 1024:.1f} MiB for a month",
        snapshot_gb * prices.s3_storage_gb_month,
        MEASURED,
    )


# Spark and Athena read objects in splits of about this size, one ranged GET each.
_SPLIT_BYTES = 128 * MIB


def _s3_requests_ours(m: Measurements, day: DailyUsage) -> tuple[int, int]:
    files = m.curated_files_per_snapshot
    raw_gets = 1 + math.ceil(day.raw_bytes / _SPLIT_BYTES)
    # Glue: lists raw/ and curated/, reads the previous snapshot to carry it forward (footer and
    # column chunks per file), writes the snapshot, data-quality issues, quarantine, report, manifest.
    glue_puts = 4 + 2 * files + 3
    glue_gets = raw_gets + 2 * files
    athena_gets = sum(files * (1 + m.query_leaf_columns.get(stage, 1)) for stage in day.curated_scans)
    queries = len(day.curated_scans)
    return _shared_puts(queries) + glue_puts, _shared_gets() + glue_gets + athena_gets


def _s3_requests_seed(raw_bytes: float, queries: int) -> tuple[int, int]:
    athena_gets = queries * (1 + math.ceil(raw_bytes / _SPLIT_BYTES))
    return _shared_puts(queries), _shared_gets() + athena_gets


def _shared_puts(queries: int) -> int:
    # The raw upload, each query's CSV and .metadata, the alerts CSV, 5 results copied twice (as_of, latest).
    return 1 + 2 * queries + 1 + 10


def _shared_gets() -> int:
    # The notifier reads the expiring and lapsed CSVs; the state machine reads the curation report.
    return 3
