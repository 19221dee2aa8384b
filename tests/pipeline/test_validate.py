"""`python -m pipeline validate`: the Glue job's classification of each line, counted and shown per file."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "pipeline"
CLEAN = DATA / "clean.ndjson"
DIRTY = DATA / "dirty.ndjson"
SAMPLE = [
    REPO / "sample_data" / "facilities_2026-11-30.ndjson",
    REPO / "sample_data" / "facilities_2026-12-01_updates.ndjson.gz",
]

# What the job makes of tests/data/pipeline/dirty.ndjson, line by line (see the file).
DIRTY_FINDINGS = [
    {"line": 3, "kind": "quarantined", "reason": "invalid_json", "field": None},
    {"line": 4, "kind": "quarantined", "reason": "not_a_json_object", "field": None},
    {"line": 5, "kind": "quarantined", "reason": "missing_facility_id", "field": None},
    {"line": 6, "kind": "issue", "reason": "not_a_calendar_date", "field": "accreditations[1].valid_until"},
    {"line": 6, "kind": "issue", "reason": "not_an_integer", "field": "employee_count"},
    {"line": 7, "kind": "unknown_field", "reason": "ignored", "field": "ownership_type"},
    {"line": 9, "kind": "quarantined", "reason": "schema_mismatch", "field": None},
    {"line": 10, "kind": "issue", "reason": "not_a_calendar_date", "field": "accreditations[0].valid_until"},
    {"line": 10, "kind": "issue", "reason": "negative", "field": "employee_count"},
]


def _validate(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _gzipped_with_bom_and_crlf(source: Path, target: Path) -> Path:
    text = source.read_text(encoding="utf-8").replace("\n", "\r\n")
    target.write_bytes(gzip.compress(b"\xef\xbb\xbf" + text.encode("utf-8")))
    return target


@pytest.fixture(scope="module")
def dirty_json(tmp_path_factory):
    """One validation (one Spark start) of the dirty file, its gzip/BOM/CRLF twin, a clean file and the
    bundled sample, as JSON."""
    folder = tmp_path_factory.mktemp("validate")
    twin = _gzipped_with_bom_and_crlf(DIRTY, folder / "dirty_twin.ndjson.gz")
    result = _validate("--json", "--examples", "20", DIRTY, twin, CLEAN, *SAMPLE)
    assert result.returncode == 1, result.stderr[-3000:]
    document = json.loads(result.stdout)
    return {Path(entry["path"]).name: entry for entry in document["files"]}, document


def test_dirty_lines_are_counted_and_listed_with_line_numbers_and_reasons(dirty_json):
    files, document = dirty_json
    dirty = files["dirty.ndjson"]
    assert not document["clean"] and not dirty["clean"]
    assert (dirty["lines"], dirty["blank_lines"], dirty["input_lines"]) == (10, 2, 8)
    assert (dirty["records"], dirty["quarantined"]) == (4, 4)
    assert dirty["quarantine_reasons"] == {
        "invalid_json": 1,
        "missing_facility_id": 1,
        "not_a_json_object": 1,
        "schema_mismatch": 1,
    }
    assert dirty["data_quality_issues"] == 4
    assert dirty["issues"] == [
        {"field": "accreditations[].valid_until", "issue": "not_a_calendar_date", "count": 2},
        {"field": "employee_count", "issue": "negative", "count": 1},
        {"field": "employee_count", "issue": "not_an_integer", "count": 1},
    ]
    assert (dirty["unknown_fields"], dirty["schema_drift"]) == (1, {"ownership_type": 1})
    shown = [{key: f[key] for key in ("line", "kind", "reason", "field")} for f in dirty["findings"]]
    assert shown == DIRTY_FINDINGS
    values = {(f["line"], f["field"]): f["value"] for f in dirty["findings"]}
    assert values[(6, "accreditations[1].valid_until")] == "2026-02-30"
    assert values[(10, "employee_count")] == "-3"
    assert values[(4, None)] == '["FAC3003", "an array, not an object"]'


def test_gzip_bom_and_crlf_read_as_the_plain_file(dirty_json):
    files, _ = dirty_json
    plain, twin = dict(files["dirty.ndjson"]), dict(files["dirty_twin.ndjson.gz"])
    for entry in (plain, twin):
        entry.pop("path")
    assert twin == plain


def test_a_clean_file_among_dirty_ones_is_clean(dirty_json):
    files, _ = dirty_json
    clean = files["clean.ndjson"]
    assert clean["clean"] and clean["findings"] == []
    assert (clean["lines"], clean["blank_lines"], clean["records"], clean["quarantined"]) == (4, 1, 3, 0)


def test_the_sample_is_classified_as_the_pipeline_run_counts_it(dirty_json):
    """The run of the bundled sample (tests/e2e) counts 113 non-blank lines, 3 blank, 5 quarantined
    with these reasons, and one unknown field; validate, using the job's code, agrees file by file."""
    files, _ = dirty_json
    sample = [files[path.name] for path in SAMPLE]
    assert sum(entry["input_lines"] for entry in sample) == 113
    assert sum(entry["blank_lines"] for entry in sample) == 3
    reasons: dict[str, int] = {}
    for entry in sample:
        for reason, count in entry["quarantine_reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    assert reasons == {"invalid_json": 1, "missing_facility_id": 3, "not_a_json_object": 1}
    assert [entry["schema_drift"] for entry in sample] == [{"ownership_type": 1}, {}]
    updates = [f["line"] for f in sample[1]["findings"]]
    assert updates == [4, 6]  # the quarantine's line numbers in the gzip file with a BOM


def test_clean_files_exit_0(tmp_path):
    twin = _gzipped_with_bom_and_crlf(CLEAN, tmp_path / "clean_twin.ndjson.gz")
    result = _validate(CLEAN, twin)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert f"{CLEAN}: clean" in result.stdout
    assert f"{twin}: clean" in result.stdout
    assert "4 lines: 3 would be curated, 0 quarantined, 1 blank (ignored)" in result.stdout
    assert "2 files, every line would be curated with no issue" in result.stdout.splitlines()[-1]


def test_text_output_shows_the_first_offending_lines_and_exits_1():
    result = _validate("--examples", "3", DIRTY)
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == f"{DIRTY}: would not curate cleanly"
    assert "10 lines: 4 would be curated, 4 quarantined, 2 blank (ignored)" in lines[1]
    assert "  first 3 of 9 findings:" in lines
    shown = [line.strip() for line in lines if line.startswith("    line ")]
    assert [line.split(":")[0] for line in shown] == ["line 3", "line 4", "line 5"]
    assert shown[0].startswith('line 3: quarantined, invalid_json: {"facility_id": "FAC3002"')
    assert "field-level issues: accreditations[].valid_until not_a_calendar_date 2" in result.stdout
    assert "unknown fields (ignored): ownership_type 1" in result.stdout
    assert lines[-1].startswith("1 of 1 file would not curate cleanly (")


@pytest.mark.parametrize(
    "args",
    [["does-not-exist.ndjson"], [str(CLEAN), "does-not-exist.ndjson"], ["--json", "does-not-exist.ndjson"]],
)
def test_a_missing_file_is_a_usage_error_before_spark_starts(args):
    result = _validate(*args)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: input file not found: does-not-exist.ndjson"
    assert result.stdout == ""


def test_no_file_is_a_usage_error():
    result = _validate()
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "FILE" in result.stderr


def test_a_path_spark_cannot_read_is_a_usage_error(tmp_path):
    colon = tmp_path / "day:1.ndjson"
    colon.write_bytes(CLEAN.read_bytes())
    result = _validate(colon)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: Spark cannot read a file whose path contains ':': {colon}"
