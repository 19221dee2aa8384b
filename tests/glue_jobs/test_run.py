"""run() on local folders: incremental snapshots, reruns, late files, encodings, threshold, drift."""

from __future__ import annotations

import json
import logging

import pytest
from local_job import _first_run, _rows, run_locally

from glue_jobs.curation import run as curation_run
from glue_jobs.curation import transforms
from glue_jobs.curation.options import CurationError
from glue_jobs.curation.snapshots import MAX_SUMMARY_BYTES, curation_summary, report_uri, snapshot_dates
from glue_jobs.curation.storage import LocalStorage
from pipeline.local.catalog import LocalCatalog, local_table_partitions, run_local_crawler

pytestmark = pytest.mark.spark


def test_first_run_reports_counts_asks_for_the_crawler_and_conserves_rows(spark, zones, caplog):
    zones.arrive_sample("day1.ndjson")
    zones.arrive_sample("rejects.ndjson")
    with caplog.at_level(logging.INFO, logger="curate_facilities"):
        report = run_locally(spark, zones.options("2026-12-01", "r1"))

    assert report["crawler_required"] and report["first_run"] and not report["schema_changed"]
    assert {k: report[k] for k in ("input_lines", "blank_lines", "curated", "quarantined", "superseded")} == {
        "input_lines": 13,
        "blank_lines": 1,
        "curated": 6,
        "quarantined": 6,
        "superseded": 1,
    }
    assert report["input_lines"] == report["curated"] + report["quarantined"] + report["superseded"]
    assert report["facilities"] == 6 and report["carried_forward"] == 0
    assert report["quarantine_reasons"] == {
        "invalid_json": 1,
        "missing_facility_id": 3,
        "not_a_json_object": 1,
        "schema_mismatch": 1,
    }
    # Schema drift: counted, reported and logged.
    assert report["unknown_fields"] == 1 and report["schema_drift"] == {"ownership": 1}
    logged = [json.loads(r.getMessage()) for r in caplog.records]
    assert {
        "event": "schema_drift",
        "snapshot_date": "2026-12-01",
        "unknown_fields": {"ownership": 1},
    } in logged
    assert any(e["event"] == "conservation" and e["superseded"] == 1 for e in logged)

    stored = json.loads(
        (zones.curated / "_reports/snapshot_date=2026-12-01/curation_report.json").read_text()
    )
    assert stored == report

    quarantine = [
        json.loads(line)
        for path in sorted(zones.quarantine.rglob("*.json"))
        for line in path.read_text().splitlines()
    ]
    assert sorted((q["line_number"], q["reason"]) for q in quarantine) == [
        (2, "invalid_json"),
        (3, "not_a_json_object"),
        (4, "missing_facility_id"),
        (5, "missing_facility_id"),
        (6, "missing_facility_id"),
        (7, "schema_mismatch"),
    ]
    assert {q["source_file"] for q in quarantine} == {str(zones.raw / "rejects.ndjson")}
    assert quarantine[0]["run_id"] == "r1" and quarantine[0]["snapshot_date"] == "2026-12-01"
    assert {q["raw_line"] for q in quarantine} >= {'[{"facility_id": "FAC012"}]'}


def test_rerun_of_the_same_as_of_replaces_the_snapshot_with_the_same_rows(spark, zones):
    zones.arrive_sample("day1.ndjson")
    _first_run(spark, zones)
    first = _rows(spark, zones)
    first_issues = _rows(spark, zones, "data_quality_issues")

    report = run_locally(spark, zones.options("2026-12-01", "r2"))

    assert not report["crawler_required"]
    assert _rows(spark, zones) == first and _rows(spark, zones, "data_quality_issues") == first_issues
    assert len({r["facility_id"] for r in first}) == len(first) == 5
    # Exactly one run folder per snapshot remains: the catalog's.
    folders = sorted(p.name for p in (zones.curated / "facilities/snapshot_date=2026-12-01").iterdir())
    assert folders == ["run_id=r2"]


def test_incremental_run_reads_only_new_files_and_carries_the_rest_forward(spark, zones):
    zones.arrive_sample("day1.ndjson")
    _first_run(spark, zones)
    zones.arrive_sample("day2_updates.ndjson")

    report = run_locally(spark, zones.options("2026-12-02", "r2"))

    assert report["base_snapshot"] == "2026-12-01"
    assert report["new_raw_files"] == [str(zones.raw / "day2_updates.ndjson")]
    assert (report["input_lines"], report["curated"], report["carried_forward"], report["facilities"]) == (
        2,
        2,
        4,
        6,
    )
    rows = {r["facility_id"]: r for r in _rows(spark, zones, snapshot="2026-12-02")}
    assert rows["FAC002"]["employee_count"] == 40 and rows["FAC002"]["source_line"] == 1
    assert rows["FAC001"]["source_line"] == 6  # carried forward with its lineage
    issues = _rows(spark, zones, "data_quality_issues", snapshot="2026-12-02")
    assert "FAC002" not in {i["facility_id"] for i in issues}  # its old issues left with its old row
    assert set(local_table_partitions(str(zones.curated), "facilities")) == {"2026-12-01", "2026-12-02"}


def test_a_late_file_wins_by_arrival_not_by_name(spark, zones):
    zones.arrive(
        "b_2026-12-02.ndjson", '{"facility_id": "F1", "facility_name": "newer name, earlier arrival"}\n'
    )
    zones.arrive("a_2026-11-30.ndjson", '{"facility_id": "F1", "facility_name": "late arrival"}\n')
    _first_run(spark, zones)
    assert [r["facility_name"] for r in _rows(spark, zones)] == ["late arrival"]

    zones.arrive("c_late.ndjson", '{"facility_id": "F2", "facility_name": "arrived after the snapshot"}\n')
    report = run_locally(spark, zones.options("2026-12-01", "r2"))
    assert report["new_raw_files"][-1].endswith("c_late.ndjson")
    assert [r["facility_id"] for r in _rows(spark, zones)] == ["F1", "F2"]


def test_rejected_ratio_above_threshold_fails_clearly_and_publishes_nothing(spark, zones):
    zones.arrive_sample("rejects.ndjson")
    with pytest.raises(
        CurationError, match=r"6 of 7 input lines rejected .*max_rejected_ratio of 5\.00%"
    ):
        run_locally(spark, zones.options("2026-12-01", "r1", max_rejected_ratio=0.05))
    assert snapshot_dates(LocalStorage(), str(zones.curated)) == []
    assert not (zones.curated / "facilities").exists()
    assert list(zones.quarantine.rglob("*.json"))  # the rejected lines are kept for inspection


def test_an_earlier_as_of_is_refused_unless_rebuild(spark, zones):
    zones.arrive_sample("day1.ndjson")
    _first_run(spark, zones, as_of="2026-12-05")
    with pytest.raises(CurationError, match=r"earlier than the latest snapshot 2026-12-05.*rebuild=true"):
        run_locally(spark, zones.options("2026-12-01", "r2"))

    report = run_locally(spark, zones.options("2026-12-01", "r3", rebuild=True))
    assert report["base_snapshot"] is None and report["curated"] == 5
    assert set(local_table_partitions(str(zones.curated), "facilities")) == {"2026-12-01", "2026-12-05"}


def test_schema_change_in_the_catalog_asks_for_the_crawler(spark, zones):
    zones.arrive_sample("day1.ndjson")
    _first_run(spark, zones)
    catalog = LocalCatalog(str(zones.curated))
    document = catalog.read_table("facilities")
    catalog.write_table("facilities", document["columns"][:-1], document["partitions"])

    report = run_locally(spark, zones.options("2026-12-02", "r2"))
    assert report["crawler_required"] and report["schema_changed"] and not report["first_run"]
    assert "2026-12-02" not in local_table_partitions(str(zones.curated), "facilities")
    run_local_crawler(str(zones.curated))
    assert "2026-12-02" in local_table_partitions(str(zones.curated), "facilities")


def test_no_new_files_carries_the_whole_previous_snapshot(spark, zones):
    zones.arrive_sample("day1.ndjson")
    _first_run(spark, zones)
    report = run_locally(spark, zones.options("2026-12-02", "r2"))
    assert (report["input_lines"], report["carried_forward"], report["new_raw_files"]) == (0, 5, [])
    assert _rows(spark, zones, snapshot="2026-12-02") == _rows(spark, zones)


def test_counts_stay_exact_when_the_snapshot_is_written_as_several_files(spark, zones, monkeypatch):
    """GIVEN more facilities than one file holds, THEN the report counts each written row once."""
    monkeypatch.setattr(transforms, "ROWS_PER_FILE", 40)
    for part in range(3):  # several input splits, so the snapshot can be written as several files
        lines = [json.dumps({"facility_id": f"M{i:03d}"}) for i in range(part * 34, min(100, part * 34 + 34))]
        zones.arrive(f"day1-{part}.ndjson", "\n".join(lines) + "\n")
    first = _first_run(spark, zones)
    zones.arrive("day2.ndjson", json.dumps({"facility_id": "M999"}) + "\n")
    second = run_locally(spark, zones.options("2026-12-02", "r2"))

    assert (first["facilities"], first["carried_forward"]) == (100, 0)
    assert (second["facilities"], second["curated"], second["carried_forward"]) == (101, 1, 100)
    location = local_table_partitions(str(zones.curated), "facilities")["2026-12-01"]
    written = spark.read.parquet(location)
    assert written.count() == 100 and len(written.inputFiles()) > 1


def test_many_duplicates_are_resolved_by_shuffling_instead_of_broadcasting(spark, zones, monkeypatch):
    """GIVEN more duplicated facilities than may be broadcast, THEN the same snapshot comes out."""
    zones.arrive_sample("day1.ndjson")
    zones.arrive_sample("rejects.ndjson")
    broadcast = _first_run(spark, zones)
    broadcast_rows = _rows(spark, zones)

    monkeypatch.setattr(curation_run, "MAX_BROADCAST_WINNERS", 0)
    shuffled = run_locally(spark, zones.options("2026-12-01", "r2"))

    counts = ("input_lines", "curated", "quarantined", "superseded", "facilities", "data_quality_issues")
    assert broadcast["superseded"] > 0
    assert {k: shuffled[k] for k in counts} == {k: broadcast[k] for k in counts}
    assert _rows(spark, zones) == broadcast_rows


def test_the_state_machine_summary_stays_small_whatever_the_number_of_raw_files(spark, zones):
    """Step Functions fails an execution with States.DataLimitExceeded, which no Catch handles, when a state's
    input or output exceeds 256 KiB ("Maximum input or output size for a task, state, or execution",
    https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). The state machine reads the
    summary, never the report, whose list of new raw files grows with a first run or a rebuild."""
    zones.arrive_sample("day1.ndjson")
    report = _first_run(spark, zones)
    summary_file = zones.curated / "_reports/snapshot_date=2026-12-01/curation_summary.json"
    written = json.loads(summary_file.read_text())
    assert written == curation_summary(report)
    assert written["new_raw_files"] == 1 and written["crawler_required"] is True
    assert written["report_location"] == report_uri(f"{zones.curated}/", "2026-12-01")

    many = [f"s3://hc-prod-raw/feeds/2026/12/01/part-{number:06d}.ndjson.gz" for number in range(100_000)]
    rebuild_report = {**report, "new_raw_files": many}

    assert len(json.dumps(rebuild_report).encode()) > 256 * 1024
    summary = curation_summary(rebuild_report)
    assert summary["new_raw_files"] == 100_000
    assert len(json.dumps(summary).encode()) <= MAX_SUMMARY_BYTES
