"""Readable summary of a local run, printed from its run_summary.json content."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

_DATA_QUALITY_ROWS = (
    ("input_lines", "non-blank input lines"),
    ("blank_lines", "blank lines (ignored)"),
    ("curated", "curated (new or changed facilities)"),
    ("carried_forward", "carried forward from the previous snapshot"),
    ("superseded", "superseded by a later record"),
    ("quarantined", "quarantined lines"),
    ("data_quality_issues", "field-level data-quality issues"),
)


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(
        f"[bold]Accreditation pipeline[/bold] as-of [bold]{summary['as_of']}[/bold] "
        f"run {summary['run_id']}: [green]{summary['status']}[/green]"
    )

    stages = Table(title="Stages", title_justify="left")
    stages.add_column("stage")
    stages.add_column("rows", justify="right")
    stages.add_column("seconds", justify="right")
    for record in summary["stages"]:
        rows = record["detail"].get("rows")
        stages.add_row(record["title"], "" if rows is None else str(rows), f"{record['seconds']:.2f}")
    console.print(stages)

    quality = Table(title="Data quality", title_justify="left")
    quality.add_column("count")
    quality.add_column("value", justify="right")
    counts = summary["data_quality"]
    for key, label in _DATA_QUALITY_ROWS:
        if key in counts:
            quality.add_row(label, str(counts[key]))
    drift = counts.get("schema_drift") or {}
    if drift:
        fields = ", ".join(f"{name} ({n})" for name, n in sorted(drift.items()))
        quality.add_row("unknown fields, ignored (occurrences)", fields)
    for reason, n in sorted((counts.get("quarantine_reasons") or {}).items()):
        quality.add_row(f"  quarantined: {reason}", str(n))
    console.print(quality)

    alerts = Table(title="Alerts (stage 3)", title_justify="left")
    for column in ("critical", "high", "medium", "lapsed"):
        alerts.add_column(column, justify="right")
    tiers = summary["alerts"]
    alerts.add_row(str(tiers["critical"]), str(tiers["high"]), str(tiers["medium"]), str(summary["lapsed"]))
    console.print(alerts)

    out = summary["out"].rstrip("/")
    console.print("[bold]Where the outputs went[/bold]")
    folders = sorted({path.rsplit("/", 1)[0] for path in summary["production_files"].values()})
    for folder in folders:
        console.print(f"  production results: {folder}/")
    console.print(f"  latest copy:        {out}/production/latest/")
    for name in summary["production_files"]:
        console.print(f"    {name}")
    console.print(f"  SNS outbox:         {out}/notifications/")
    console.print(f"  quarantine:         {out}/quarantine/")
    console.print(f"  curated Parquet:    {out}/curated/")
    console.print(f"  run summary:        {out}/run_summary.json")
