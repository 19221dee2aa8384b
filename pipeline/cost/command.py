"""`python -m pipeline cost`: dollars per daily run on AWS, this design against the seed design."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cost.model import DEFAULT_MEASUREMENTS, compare, load_measurements


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

    from pipeline.cost.report import cost_table, verdict

    console = Console()
    for size in sizes:
        comparison = compare(size, measurements, full_reload=args.full_reload)
        console.print(cost_table(comparison))
        console.print(verdict(comparison))
        console.print()
    console.print(f"Inputs measured on {measurements.measured_on}; see bench/RESULTS.md.")
    return 0
