"""The cost comparison as a table (terminal and RESULTS.md) and a one-sentence verdict."""

from __future__ import annotations

from pipeline.cost.model import (
    ATHENA,
    GLUE_JOB,
    LAMBDA,
    MESSAGING,
    S3_REQUESTS,
    STEP_FUNCTIONS,
    CostComparison,
)
from pipeline.cost.prices import DEFAULT_PRICES, Prices


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


def verdict(comparison: CostComparison, prices: Prices = DEFAULT_PRICES) -> str:
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
