"""Snapshot bookkeeping: row conservation, watermark and new raw files, unreferenced run folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from local_job import _first_run

from glue_jobs.curation.options import CurationError
from glue_jobs.curation.snapshots import check_conservation, new_raw_files, next_watermark
from glue_jobs.curation.storage import StoredObject
from pipeline.local.catalog import LocalCatalog, local_table_partitions, run_local_crawler


def test_conservation_check_fails_loudly():
    check_conservation(
        "2026-12-01", input_lines=5, curated=3, quarantined=1, superseded=1, carried_forward=9
    )
    with pytest.raises(CurationError, match="row conservation violated"):
        check_conservation(
            "2026-12-01", input_lines=5, curated=3, quarantined=1, superseded=0, carried_forward=0
        )


def _obj(name: str, arrival: float) -> StoredObject:
    return StoredObject(f"s3://raw/{name}", arrival, 1)


def test_new_files_after_the_watermark_including_same_tick_arrivals():
    consumed = [_obj("a", 10), _obj("b", 20)]
    manifest = next_watermark(None, consumed)
    assert manifest == {"watermark": 20, "files_at_watermark": ["s3://raw/b"]}
    listing = [*consumed, _obj("c", 20), _obj("d", 30)]
    assert [o.uri for o in new_raw_files(listing, manifest)] == ["s3://raw/c", "s3://raw/d"]
    assert [o.uri for o in new_raw_files(listing, None)] == [f"s3://raw/{n}" for n in "abcd"]
    assert next_watermark(manifest, []) == manifest


def _facility_rows_per_snapshot(zones) -> dict[str, int]:
    from pipeline.local.athena import LocalAthena

    document = LocalCatalog(str(zones.curated)).read_table("facilities")
    athena = LocalAthena()
    athena.register_table("facilities", document["partitions"], document["columns"])
    rows = athena.execute("select snapshot_date, count(*) from facilities group by 1 order by 1").fetchall()
    return dict(rows)


@pytest.mark.spark
def test_a_run_folder_no_manifest_references_is_removed_before_the_crawler_runs(spark, zones):
    # GIVEN a committed snapshot and a copy of its run folder left by a run that died before its clean-up
    zones.arrive_sample("day1.ndjson")
    report = _first_run(spark, zones)
    committed = Path(local_table_partitions(str(zones.curated), "facilities")["2026-12-01"])
    orphan = committed.parent / "run_id=died-before-cleanup"
    shutil.copytree(committed, orphan)
    # The crawler registers every run folder it finds: the snapshot's rows read twice, as in Athena.
    run_local_crawler(str(zones.curated))
    assert _facility_rows_per_snapshot(zones) == {"2026-12-01": 2 * report["facilities"]}

    # WHEN the next run needs the crawler (here: the catalog was dropped, so the tables look new)
    shutil.rmtree(zones.curated / "_catalog")
    zones.arrive_sample("day2_updates.ndjson")
    next_report = _first_run(spark, zones, as_of="2026-12-02", run_id="r2")

    # THEN the job removed the unreferenced folder before the crawl, and each snapshot reads once
    assert next_report["crawler_required"]
    assert not orphan.exists() and committed.exists()
    assert _facility_rows_per_snapshot(zones) == {
        "2026-12-01": report["facilities"],
        "2026-12-02": next_report["facilities"],
    }
