"""`python -m pipeline run` on the bundled sample: every stage on real engines, outputs checked by hand."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.stages import PIPELINE_STAGES

REPO = Path(__file__).resolve().parents[2]
SAMPLE = [
    REPO / "sample_data" / "facilities_2026-11-30.ndjson",
    REPO / "sample_data" / "facilities_2026-12-01_updates.ndjson.gz",
]
AS_OF = "2026-12-01"
RESULT_FILES = (
    "facility_metrics.csv",
    "expiring_accreditations.csv",
    "accreditation_alerts.csv",
    "lapsed_accreditations.csv",
    "facilities_by_state.csv",
    "resolved_accreditations.csv",
)


def _run_cli(out: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    inputs = [arg for path in SAMPLE for arg in ("--input", str(path))]
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "run", *inputs, "--as-of", AS_OF, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=env,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = _run_cli(out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def _rows(out: Path, name: str) -> list[dict[str, str]]:
    with open(out / "production" / f"as_of={AS_OF}" / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _out_of(result: subprocess.CompletedProcess) -> str:
    return result.args[result.args.index("--out") + 1]


def _keys(rows, *columns):
    return {tuple(row[column] for column in columns) for row in rows}


def test_summary_accounts_for_every_input_line(demo_run):
    out, _ = demo_run
    summary = json.loads((out / "run_summary.json").read_text())
    counts = summary["data_quality"]
    # 107 + 6 non-blank lines; 5 bad lines; FAC1030 twice in file 1, FAC1002 and FAC1010 again in file 2.
    assert counts["input_lines"] == 113
    assert counts["quarantined"] == 5
    assert counts["superseded"] == 3
    assert counts["curated"] == 105
    assert summary["status"] == "SUCCEEDED"
    skipped = ("land_inputs", "spark_startup")
    visited = [stage["name"] for stage in summary["stages"] if stage["name"] not in skipped]
    # The same stages, in the same order, as the state machine (tests/orchestration pins its side).
    assert visited == [stage.name for stage in PIPELINE_STAGES]


def test_printed_summary_names_every_output(demo_run):
    _, result = demo_run
    for name in RESULT_FILES:
        assert name in result.stdout
    assert "critical" in result.stdout and "quarantined" in result.stdout
    assert f"run report:         {_out_of(result)}/production/as_of={AS_OF}/report.html" in result.stdout


def test_production_files_have_the_documented_headers(demo_run):
    out, _ = demo_run
    expiring = [
        "facility_id",
        "facility_name",
        "state",
        "accreditation_body",
        "accreditation_id",
        "valid_until",
        "days_until_expiry",
    ]
    expected = {
        "facility_metrics.csv": [
            "facility_id",
            "facility_name",
            "employee_count",
            "number_of_offered_services",
            "expiry_date_of_first_accreditation",
        ],
        "expiring_accreditations.csv": expiring,
        "accreditation_alerts.csv": [*expiring, "priority", "change"],
        "lapsed_accreditations.csv": expiring,
        "facilities_by_state.csv": ["state", "facility_count", "accredited_facility_count"],
        "resolved_accreditations.csv": [
            "facility_id",
            "facility_name",
            "state",
            "accreditation_body",
            "accreditation_id",
            "valid_until",
            "previous_priority",
            "resolution",
            "detail",
        ],
    }
    for name, header in expected.items():
        for prefix in (f"as_of={AS_OF}", "latest"):
            with open(out / "production" / prefix / name, encoding="utf-8", newline="") as handle:
                assert next(csv.reader(handle)) == header, (prefix, name)


def test_alert_tiers_match_the_sample(demo_run):
    out, _ = demo_run
    alerts = _rows(out, "accreditation_alerts.csv")
    expiring = [r for r in alerts if int(r["days_until_expiry"]) >= 0]
    by_tier = {
        tier: _keys([r for r in expiring if r["priority"] == tier], "facility_id", "accreditation_id")
        for tier in ("critical", "high", "medium")
    }
    # The lapsed accreditations are alert rows too, in the critical tier; a first run marks all changed.
    lapsed = [r for r in alerts if int(r["days_until_expiry"]) < 0]
    assert _keys(lapsed, "facility_id", "accreditation_id") == _keys(
        _rows(out, "lapsed_accreditations.csv"), "facility_id", "accreditation_id"
    )
    assert {(r["priority"], r["change"]) for r in lapsed} == {("critical", "newly_lapsed")}
    assert {r["change"] for r in expiring} == {"new"}
    assert by_tier["critical"] == {
        ("FAC1001", "JC-1001"),
        ("FAC1002", "JC-1002"),
        ("FAC1010", "NCQA-1010"),
        ("FAC1013", "JC-1013"),
        ("FAC1018", "JC-1018"),
        ("FAC1026", "NCQA-1026"),
        ("FAC1030", "JC-1030"),
        ("FAC1033", "DNV-1033"),
        ("FAC1034", "JC-1034"),
    }
    assert by_tier["high"] == {
        ("FAC1002", "NCQA-1002"),
        ("FAC1003", "AAAHC-1003"),
        ("FAC1004", "JC-1004"),
        ("FAC1013", "DNV-1013"),
        ("FAC1020", "JC-1020"),
        ("FAC1023", "NCQA-1023"),
        ("FAC1028", "CARF-1028"),
    }
    assert by_tier["medium"] == {
        ("FAC1004", "DNV-1004"),
        ("FAC1005", "CARF-1005"),
        ("FAC1006", "JC-1006"),
        ("FAC1013", "NCQA-1013"),
        ("FAC1022", "JC-1022"),
        ("FAC1025", "JC-1025"),
        ("FAC1029", "NCQA-1029"),
    }
    days = {(r["facility_id"], r["accreditation_id"]): int(r["days_until_expiry"]) for r in alerts}
    assert days[("FAC1001", "JC-1001")] == 0 and days[("FAC1006", "JC-1006")] == 90


def test_expiring_window_edges(demo_run):
    out, _ = demo_run
    expiring = _keys(_rows(out, "expiring_accreditations.csv"), "facility_id", "accreditation_id")
    assert ("FAC1007", "JC-1007") in expiring  # 91 days: expiring, but no alert
    assert ("FAC1008", "JC-1008") in expiring  # 2027-06-01, the last day of the 6-month window
    assert ("FAC1009", "NCQA-1009") not in expiring  # 2027-06-02, one day past it


def test_lapsed_means_no_renewal_from_the_same_body(demo_run):
    out, _ = demo_run
    lapsed = _keys(_rows(out, "lapsed_accreditations.csv"), "facility_id", "accreditation_id")
    assert lapsed == {
        ("FAC1010", "JC-1010"),
        ("FAC1012", "JC-1012"),
        ("FAC1019", "NCQA-1019"),
        ("FAC1020", "CARF-1020"),
        ("FAC1024", "JC-1024"),
        ("FAC1031", "AAAHC-1031"),
        ("FAC1035", "NCQA-1035"),
    }


def test_facility_metrics_follow_the_cleaning_rules(demo_run):
    out, _ = demo_run
    metrics = {row["facility_id"]: row for row in _rows(out, "facility_metrics.csv")}
    assert len(metrics) == 105
    assert metrics["FAC1030"]["facility_name"] == "Lone Star Cancer Center"  # the later line wins
    assert metrics["FAC1002"]["employee_count"] == "875"  # the later file wins
    assert metrics["FAC1026"]["employee_count"] == ""  # negative: null plus a data-quality issue
    assert metrics["FAC1026"]["number_of_offered_services"] == "2"  # blanks and duplicates removed
    assert metrics["FAC1027"]["expiry_date_of_first_accreditation"] == ""  # 12/31/2026 is not a date
    assert metrics["FAC1026"]["expiry_date_of_first_accreditation"] == "2026-12-21"  # 2026-02-30 ignored
    assert metrics["FAC1015"]["expiry_date_of_first_accreditation"] == ""  # no accreditations


def test_states_are_normalised(demo_run):
    out, _ = demo_run
    by_state = {row["state"]: row for row in _rows(out, "facilities_by_state.csv")}
    assert len(by_state) >= 8
    assert "UNKNOWN" in by_state and " tx " not in by_state
    assert sum(int(row["facility_count"]) for row in by_state.values()) == 105


def test_quarantine_keeps_every_rejected_line_with_a_reason(demo_run):
    out, _ = demo_run
    records = [
        json.loads(line)
        for path in sorted((out / "quarantine").rglob("part-*.json"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(records) == 5
    assert all(record["reason"] and record["source_file"] and record["line_number"] for record in records)
    updates = sorted(r["line_number"] for r in records if r["source_file"].endswith("updates.ndjson.gz"))
    assert updates == [4, 6]


def test_one_digest_per_tier_and_a_status_message(demo_run):
    out, _ = demo_run
    messages = [json.loads(path.read_text()) for path in sorted((out / "notifications").glob("*.json"))]
    topics = sorted(message["topic"] for message in messages)
    assert topics == ["critical", "high", "medium", "status"]
    critical = next(m for m in messages if m["topic"] == "critical")
    assert "lapsed" in critical["message"].lower() and "FAC1035" in critical["message"]
    assert all(m["attributes"].get("as_of") == AS_OF for m in messages)


def test_rerun_for_the_same_as_of_is_idempotent(demo_run, tmp_path):
    """GIVEN a finished run, WHEN the same inputs run again for the same as-of, THEN nothing changes."""
    import shutil

    first, _ = demo_run
    out = tmp_path / "out"
    shutil.copytree(first, out)
    before = {name: (out / "production" / f"as_of={AS_OF}" / name).read_bytes() for name in RESULT_FILES}
    result = _run_cli(out)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in RESULT_FILES:
        assert (out / "production" / f"as_of={AS_OF}" / name).read_bytes() == before[name], name
    assert sorted(path.name for path in (out / "raw").iterdir()) == sorted(path.name for path in SAMPLE)
    summary = json.loads((out / "run_summary.json").read_text())
    landing = next(stage for stage in summary["stages"] if stage["name"] == "land_inputs")
    assert landing["detail"]["arrived"] == []
    assert len(list((out / "notifications").glob("*.json"))) == 4


def test_the_first_run_saves_spark_classes_and_the_next_maps_them_with_the_same_results(demo_run, tmp_path):
    """GIVEN an environment without a class archive, WHEN two runs follow each other, THEN the
    first records it (and publishes it whole), the second uses it, and both give the demo's results."""
    import os

    archives = tmp_path / "archives"
    archives.mkdir()
    env = {**os.environ, "PIPELINE_SPARK_CLASS_ARCHIVE_DIR": str(archives)}
    demo_out, _ = demo_run
    expected = {name: _rows(demo_out, name) for name in RESULT_FILES}

    recording = _run_cli(tmp_path / "first", env)
    assert recording.returncode == 0, recording.stderr[-3000:]
    assert "saving Spark's classes" in recording.stderr
    saved = list(archives.iterdir())
    assert [path.suffix for path in saved] == [".jsa"]  # published, no partial recording left
    assert saved[0].stat().st_size > 10 * 1024 * 1024
    recorded_at = saved[0].stat().st_mtime_ns

    mapping = _run_cli(tmp_path / "second", env)
    assert mapping.returncode == 0, mapping.stderr[-3000:]
    assert "saving Spark's classes" not in mapping.stderr
    assert list(archives.iterdir()) == saved and saved[0].stat().st_mtime_ns == recorded_at
    for out in (tmp_path / "first", tmp_path / "second"):
        for name in RESULT_FILES:
            got = _rows(out, name)
            assert sorted(map(sorted, (r.items() for r in got))) == sorted(
                map(sorted, (r.items() for r in expected[name]))
            ), name


def test_an_earlier_as_of_is_refused_without_rebuild(demo_run, tmp_path):
    import shutil

    first, _ = demo_run
    out = tmp_path / "out"
    shutil.copytree(first, out)
    inputs = [arg for path in SAMPLE for arg in ("--input", str(path))]
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", *inputs, "--as-of", "2026-11-01", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "rebuild" in result.stderr.strip().splitlines()[-1]
