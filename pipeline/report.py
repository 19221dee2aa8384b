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
    _print_changes(console, summary)

    out = summary["out"].rstrip("/")
    console.print("[bold]Where the outputs went[/bold]")
    folders = sorted({path.rsplit("/", 1)[0] for path in summary["production_files"].values()})
    for folder in folders:
        console.print(f"  production results: {folder}/", soft_wrap=True)
    console.print(f"  latest copy:        {out}/production/latest/", soft_wrap=True)
    for name in summary["production_files"]:
        console.print(f"    {name}", soft_wrap=True)
    if summary.get("run_report"):
        console.print(f"  run report:         {summary['run_report']}", soft_wrap=True)
    console.print(f"  SNS outbox:         {out}/notifications/", soft_wrap=True)
    console.print(f"  quarantine:         {out}/quarantine/", soft_wrap=True)
    console.print(f"  curated Parquet:    {out}/curated/", soft_wrap=True)
    console.print(f"  run summary:        {out}/run_summary.json", soft_wrap=True)


def _print_changes(console: Console, summary: dict) -> None:
    changes = summary.get("changes") or {}
    if not changes:
        return
    previous = summary.get("previous_as_of")
    title = f"Changes since {previous}" if previous else "Changes (first run: everything is new)"
    table = Table(title=title, title_justify="left")
    table.add_column("tier")
    for column in ("new", "escalated", "newly lapsed", "resolved"):
        table.add_column(column, justify="right")
    for tier, counts in changes.items():
        table.add_row(
            tier, *(str(counts[key]) for key in ("new", "escalated", "newly_lapsed", "resolved"))
        )
    console.print(table)
    for digest in summary.get("unchanged_digests_not_sent") or ():
        console.print(f"  not sent, nothing changed: {digest}")
