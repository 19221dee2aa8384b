"""The synthetic registry generator: deterministic, realistic, with the requested share of malformed lines."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import date, timedelta

import pytest

from pipeline.generate import MALFORMED_KINDS, generate_facilities, main, write_facilities

ANCHOR = date(2026, 12, 1)


def _records(count: int, seed: int) -> list[dict]:
    lines = generate_facilities(count, seed=seed, bad_ratio=0.0, anchor_date=ANCHOR)
    return [json.loads(line) for line in lines]


def _classify(line: str) -> str:
    """The kind of a generated line, judged from its text alone (independent of the generator)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return "invalid_json"
    if not isinstance(record, dict):
        return "non_object"
    if "facility_id" not in record:
        return "missing_facility_id"
    if not isinstance(record["facility_id"], str) or not record["facility_id"].strip():
        return "blank_facility_id"
    for accreditation in record["accreditations"]:
        try:
            date.fromisoformat(accreditation["valid_until"])
        except ValueError:
            return "invalid_valid_until"
        if len(accreditation["valid_until"]) != 10:
            return "invalid_valid_until"
    if record["employee_count"] < 0:
        return "negative_employee_count"
    return "valid"


def test_same_seed_gives_the_same_lines_and_another_seed_does_not():
    first = list(generate_facilities(500, seed=7, bad_ratio=0.02, anchor_date=ANCHOR))
    again = list(generate_facilities(500, seed=7, bad_ratio=0.02, anchor_date=ANCHOR))
    other = list(generate_facilities(500, seed=8, bad_ratio=0.02, anchor_date=ANCHOR))
    assert first == again
    assert first != other
    assert len(first) == 500


def test_malformed_share_is_exact_and_covers_every_kind():
    lines = list(generate_facilities(3000, seed=1, bad_ratio=0.05, anchor_date=ANCHOR))
    kinds = Counter(_classify(line) for line in lines)
    assert sum(count for kind, count in kinds.items() if kind != "valid") == 150
    assert set(kinds) == {"valid", *MALFORMED_KINDS}
    assert min(kinds[kind] for kind in MALFORMED_KINDS) >= 150 // len(MALFORMED_KINDS)


def test_zero_bad_ratio_gives_only_valid_lines():
    lines = list(generate_facilities(300, seed=2, bad_ratio=0.0, anchor_date=ANCHOR))
    assert {_classify(line) for line in lines} == {"valid"}


def test_field_distributions_are_plausible():
    records = _records(6000, seed=3)
    assert len({record["facility_id"] for record in records}) == len(records)

    states = Counter(record["location"]["state"] for record in records)
    assert len(states) >= 45
    assert states.most_common(1)[0][0] == "CA"
    assert states["CA"] > 10 * states["WY"]
    assert all(len(record["location"]["zip"]) == 5 for record in records)

    service_counts = Counter(len(record["services"]) for record in records)
    assert set(service_counts) == set(range(1, 9))
    assert all(len(set(record["services"])) == len(record["services"]) for record in records)
    assert set(Counter(len(record["labs"]) for record in records)) == set(range(5))
    assert all("CLIA" in lab["certifications"] for record in records for lab in record["labs"])
    assert set(Counter(len(record["accreditations"]) for record in records)) == set(range(5))
    assert all(record["employee_count"] > 0 for record in records)

    accreditations = [a for record in records for a in record["accreditations"]]
    valid_until = [date.fromisoformat(a["valid_until"]) for a in accreditations]
    assert min(valid_until) >= ANCHOR - timedelta(days=730)
    assert max(valid_until) <= ANCHOR + timedelta(days=1095)
    lapsed_share = sum(day < ANCHOR for day in valid_until) / len(valid_until)
    assert 0.3 < lapsed_share < 0.6
    bodies = Counter(a["accreditation_body"] for a in accreditations)
    assert bodies.most_common(1)[0][0] == "Joint Commission"
    assert {"NCQA", "CARF", "DNV", "AAAHC", "CAP"} <= set(bodies)


def test_renewals_pair_a_lapsed_and_a_current_accreditation_from_the_same_body():
    records = _records(2000, seed=4)
    renewed = 0
    for record in records:
        by_body: dict[str, list[date]] = {}
        for accreditation in record["accreditations"]:
            by_body.setdefault(accreditation["accreditation_body"], []).append(
                date.fromisoformat(accreditation["valid_until"])
            )
        renewed += any(min(days) < ANCHOR <= max(days) for days in by_body.values() if len(days) > 1)
    assert renewed > 0.1 * len(records)


def test_gzip_output_holds_the_same_lines_and_is_byte_identical_for_a_seed(tmp_path):
    first = tmp_path / "a" / "registry.ndjson.gz"
    second = tmp_path / "b" / "registry.ndjson.gz"
    kinds = write_facilities(first, 400, seed=5, bad_ratio=0.05, anchor_date=ANCHOR)
    write_facilities(second, 400, seed=5, bad_ratio=0.05, anchor_date=ANCHOR)

    with gzip.open(first, "rt", encoding="utf-8") as handle:
        written = handle.read().split("\n")
    assert written[-1] == ""
    assert written[:-1] == list(generate_facilities(400, seed=5, bad_ratio=0.05, anchor_date=ANCHOR))
    assert first.read_bytes() == second.read_bytes()
    assert kinds["valid"] == 380
    assert sum(kinds[kind] for kind in MALFORMED_KINDS) == 20


def test_command_line_writes_plain_ndjson(tmp_path, capsys):
    out = tmp_path / "registry.ndjson"
    arguments = ["--facilities", "120", "--seed", "9", "--bad-ratio", "0.1", "--anchor-date", "2026-12-01"]
    exit_code = main([*arguments, "--out", str(out)])
    assert exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == list(generate_facilities(120, seed=9, bad_ratio=0.1, anchor_date=ANCHOR))
    assert "12 malformed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad_arguments",
    [
        ["--facilities", "-1"],
        ["--facilities", "10", "--bad-ratio", "1.5"],
        ["--facilities", "10", "--anchor-date", "2026-02-30"],
    ],
)
def test_command_line_rejects_bad_arguments(tmp_path, bad_arguments):
    with pytest.raises(SystemExit) as exit_info:
        main([*bad_arguments, "--out", str(tmp_path / "x.ndjson")])
    assert exit_info.value.code == 2
