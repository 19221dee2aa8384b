"""Benchmark of the notifier core: 1M stage-2 rows through the local adapters; rows/s and peak memory."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import time
from pathlib import Path

from pipeline.local.notifier_adapters import notify_locally
from pipeline.settings import DEFAULT_ALERT_POLICY

AS_OF = dt.date(2026, 12, 1)
HEADER = (
    '"facility_id","facility_name","state","accreditation_body","accreditation_id","valid_until",'
    '"days_until_expiry"\n'
)
STATES = ("TX", "CA", "FL", "NY", "WA", "IL", "OH", "GA", "PA", "AZ")
BODIES = ("Joint Commission", "DNV Healthcare", "CARF", "AAAHC")


def write_stage2_results(path: Path, rows: int, seed: int = 1) -> None:
    """Athena-format CSV (header, every value quoted) of stage-2 rows, 0 to 183 days out, in random order."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for i in range(rows):
            days = rng.randint(0, 183)
            body = BODIES[i % len(BODIES)]
            out.write(
                f'"F{i:07d}","Facility {i} Regional Medical Center","{STATES[i % len(STATES)]}",'
                f'"{body}","{body[:3].upper()}-{i:07d}","{AS_OF + dt.timedelta(days=days)}","{days}"\n'
            )


def peak_rss_mb() -> float:
    # ru_maxrss is kilobytes on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out/notifier"))
    parser.add_argument("--states", default="", help="comma-separated STATE_DIGEST_STATES")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also report the traced Python peak (slower)"
    )
    args = parser.parse_args(argv)

    expiring = args.out / "athena-results/bench/expiring.csv"
    lapsed = args.out / "athena-results/bench/lapsed.csv"
    if not expiring.exists() or sum(1 for _ in expiring.open(encoding="utf-8")) != args.rows + 1:
        write_stage2_results(expiring, args.rows)
    lapsed.write_text(HEADER, encoding="utf-8")
    event = {
        "as_of": AS_OF.isoformat(),
        "run_id": "bench",
        "expiring_results": str(expiring),
        "lapsed_results": str(lapsed),
        "alerts_output": str(args.out / "athena-results/notifier/bench/accreditation_alerts.csv"),
        "production_location": f"s3://production/as_of={AS_OF.isoformat()}/",
    }
    states = [s for s in args.states.split(",") if s]
    rss_before = peak_rss_mb()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    started = time.perf_counter()
    summary = notify_locally(event, args.out, DEFAULT_ALERT_POLICY, states)
    elapsed = time.perf_counter() - started
    traced = ""
    if args.tracemalloc:
        traced = f", traced Python peak {tracemalloc.get_traced_memory()[1] / 1e6:.1f} MB"
        tracemalloc.stop()
    print(
        f"notifier: {args.rows:,} stage-2 rows in {elapsed:.2f} s = {args.rows / elapsed:,.0f} rows/s; "
        f"peak RSS {peak_rss_mb():.1f} MB (before the run {rss_before:.1f} MB){traced}; "
        f"alerts {summary['alerts']}, {summary['messages_published']} messages"
    )


if __name__ == "__main__":
    main()
