"""Snapshot bookkeeping: manifests, reports and summaries, run folders, watermarks, new raw files, cleanup."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from glue_jobs.curation.options import CurationError
from glue_jobs.curation.schemas import PARTITION_COLUMN, RUN_COLUMN
from glue_jobs.curation.storage import Storage, StoredObject, file_key, join_uri

LOG = logging.getLogger("curate_facilities")

def manifest_uri(curated_location: str, snapshot_date: str) -> str:
    """Where the manifest of snapshot X lives: bookkeeping under a `_` key, outside the table roots."""
    return join_uri(curated_location, "_snapshots", f"{PARTITION_COLUMN}={snapshot_date}", "manifest.json")


def report_uri(curated_location: str, snapshot_date: str) -> str:
    """Where the curation report of as-of X lives; the state machine computes it from X alone."""
    return join_uri(
        curated_location, "_reports", f"{PARTITION_COLUMN}={snapshot_date}", "curation_report.json"
    )


def summary_uri(curated_location: str, snapshot_date: str) -> str:
    """Where the state machine's bounded summary of as-of X's run lives (computed from X alone)."""
    return join_uri(curated_location, "_reports", f"{PARTITION_COLUMN}={snapshot_date}", SUMMARY_FILE)


# The state machine reads the summary into its execution state, where a payload may not exceed 256 KiB
# ("Quotas related to state throttling... Maximum input or output size for a task, state, or execution:
# 256 KiB"); the full report lists every newly arrived raw file and can be far larger. Every field of
# the summary is a count, a flag or one location, so its size does not grow with the input.
SUMMARY_FILE = "curation_summary.json"
SUMMARY_FIELDS = (
    "snapshot_date",
    "run_id",
    "base_snapshot",
    "facilities",
    "input_lines",
    "curated",
    "carried_forward",
    "quarantined",
    "superseded",
    "data_quality_issues",
    "unknown_fields",
    "rejected_ratio",
    "crawler_required",
    "first_run",
    "schema_changed",
    "report_location",
)
MAX_SUMMARY_BYTES = 4096


def curation_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The bounded part of a curation report that the state machine reads (see SUMMARY_FIELDS)."""
    summary = {name: report[name] for name in SUMMARY_FIELDS}
    summary["new_raw_files"] = len(report["new_raw_files"])
    summary["quarantine_location"] = report["locations"]["quarantine"]
    if len(json.dumps(summary).encode("utf-8")) > MAX_SUMMARY_BYTES:
        raise CurationError(f"curation summary exceeds {MAX_SUMMARY_BYTES} bytes: {summary}")
    return summary


def run_location(root: str, table: str | None, snapshot_date: str, run_id: str) -> str:
    parts = [table] if table else []
    return join_uri(root, *parts, f"{PARTITION_COLUMN}={snapshot_date}", f"{RUN_COLUMN}={run_id}") + "/"


def snapshot_dates(storage: Storage, curated_location: str) -> list[str]:
    """Snapshot dates with a committed manifest, ascending."""
    pattern = re.compile(rf"/_snapshots/{PARTITION_COLUMN}=(\d{{4}}-\d{{2}}-\d{{2}})/manifest\.json$")
    listing = storage.list_objects(join_uri(curated_location, "_snapshots"))
    return sorted({m.group(1) for o in listing if (m := pattern.search(o.uri))})


def read_manifest(storage: Storage, curated_location: str, snapshot_date: str) -> dict[str, Any]:
    text = storage.read_text(manifest_uri(curated_location, snapshot_date))
    if text is None:
        raise CurationError(f"manifest of snapshot {snapshot_date} is missing under {curated_location}")
    return json.loads(text)


def new_raw_files(
    listing: Iterable[StoredObject], base_manifest: dict[str, Any] | None
) -> list[StoredObject]:
    """Raw files that arrived after the base snapshot's watermark, in arrival order (then name).

    Files arriving in the same clock tick as the watermark are compared by name against the
    ones the base already consumed, so equal timestamps never lose or repeat a file.
    """
    ordered = sorted(listing, key=lambda o: (o.arrival, o.uri))
    if base_manifest is None or base_manifest.get("watermark") is None:
        return ordered
    watermark = base_manifest["watermark"]
    seen = set(base_manifest.get("files_at_watermark", []))
    return [o for o in ordered if o.arrival > watermark or (o.arrival == watermark and o.uri not in seen)]


def next_watermark(base_manifest: dict[str, Any] | None, consumed: Sequence[StoredObject]) -> dict[str, Any]:
    watermark = base_manifest.get("watermark") if base_manifest else None
    at_watermark = list(base_manifest.get("files_at_watermark", [])) if base_manifest else []
    for obj in consumed:
        if watermark is None or obj.arrival > watermark:
            watermark, at_watermark = obj.arrival, [obj.uri]
        elif obj.arrival == watermark:
            at_watermark.append(obj.uri)
    return {"watermark": watermark, "files_at_watermark": sorted(set(at_watermark))}



def raw_data_files(storage: Storage, raw_location: str) -> list[StoredObject]:
    """The raw zone's data files (tool bookkeeping such as _SUCCESS or .tmp-* left out)."""
    return [o for o in storage.list_objects(raw_location) if _is_raw_data_file(o, raw_location)]


def _is_raw_data_file(obj: StoredObject, root: str) -> bool:
    relative = obj.uri[len(root.rstrip("/")) :] if obj.uri.startswith(root.rstrip("/")) else obj.uri
    # Hidden and underscore names (_SUCCESS, .tmp-*) are tool bookkeeping, not arrivals.
    return not any(part.startswith((".", "_")) for part in relative.split("/") if part)


def check_conservation(snapshot_date: str, **counts: int) -> None:
    """Log the line accounting and fail when input != curated + quarantined + superseded."""
    event = {"event": "conservation", "snapshot_date": snapshot_date, **counts}
    LOG.info(json.dumps(event))
    accounted = counts["curated"] + counts["quarantined"] + counts["superseded"]
    if counts["input_lines"] != accounted or min(counts.values()) < 0:
        raise CurationError(
            f"row conservation violated, snapshot {snapshot_date} not published: input_lines "
            f"{counts['input_lines']} != curated + quarantined + superseded ({accounted}): {event}"
        )


def remove_unreferenced_runs(storage: Storage, curated_location: str, table: str) -> list[str]:
    """Delete the run folders of `table` that no committed manifest points at; returns their prefixes."""
    referenced = set()
    for snapshot_date in snapshot_dates(storage, curated_location):
        tables = read_manifest(storage, curated_location, snapshot_date).get("tables", {})
        if table in tables:
            referenced.add(file_key(tables[table]["location"]).rstrip("/"))
    folder = re.compile(rf"^(.*/{PARTITION_COLUMN}=[^/]+/{RUN_COLUMN}=[^/]+)/")
    listing = storage.list_objects(join_uri(curated_location, table))
    found = {m.group(1) for o in listing if (m := folder.match(o.uri))}
    unreferenced = sorted(prefix for prefix in found if file_key(prefix) not in referenced)
    for prefix in unreferenced:
        LOG.warning(json.dumps({"event": "unreferenced_run_removed", "table": table, "location": prefix}))
        storage.delete_prefix(prefix + "/")
    return unreferenced


def remove_other_runs(storage: Storage, root: str, snapshot_date: str, keep_run_id: str | None) -> None:
    """Delete run folders of this snapshot other than keep_run_id (earlier or failed runs)."""
    partition = join_uri(root, f"{PARTITION_COLUMN}={snapshot_date}")
    folder = re.compile(rf"^(.*/{RUN_COLUMN}=([^/]+))/")
    stale = {
        m.group(1)
        for o in storage.list_objects(partition)
        if (m := folder.match(o.uri)) and m.group(2) != keep_run_id
    }
    for prefix in sorted(stale):
        storage.delete_prefix(prefix + "/")
