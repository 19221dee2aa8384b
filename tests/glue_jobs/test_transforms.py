"""Pure transforms of the Glue job on small DataFrames: parsing, quarantine reasons, normalisation, dedupe."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from glue_jobs.curation.schemas import (
    FACILITY_COLUMNS,
    REASON_INVALID_JSON,
    REASON_MISSING_ID,
    REASON_NOT_OBJECT,
    REASON_SCHEMA_MISMATCH,
)
from glue_jobs.curation.transforms import (
    curate_records,
    data_quality_issues,
    latest_records,
    parse_lines,
    quarantine_records,
    unknown_field_counts,
    with_previous,
)

pytestmark = pytest.mark.spark


def _record(**fields: object) -> str:
    return json.dumps({"facility_id": "F1", "facility_name": "A", **fields})


def _curated(lines_frame, *values: str) -> list:
    return curate_records(parse_lines(lines_frame(*values))).orderBy("source_line").collect()


def test_line_kinds_and_quarantine_reasons(lines_frame):
    parsed = parse_lines(
        lines_frame(
            _record(),
            "",
            "   \t",
            '{"facility_id": "F2"',
            '[{"facility_id": "F3"}]',
            "42",
            '{"facility_id": "F4"} trailing',
            '{"facility_name": "no id"}',
            '{"facility_id": null}',
            '{"facility_id": "  "}',
            '{"facility_id": "F5", "location": "Main St"}',
        )
    )
    got = [(r["line_kind"], r["reason"]) for r in parsed.orderBy("source_line").collect()]
    assert got == [
        ("record", None),
        ("blank", None),
        ("blank", None),
        ("quarantined", REASON_INVALID_JSON),
        ("quarantined", REASON_NOT_OBJECT),
        ("quarantined", REASON_NOT_OBJECT),
        ("quarantined", REASON_INVALID_JSON),
        ("quarantined", REASON_MISSING_ID),
        ("quarantined", REASON_MISSING_ID),
        ("quarantined", REASON_MISSING_ID),
        ("quarantined", REASON_SCHEMA_MISMATCH),
    ]


def test_quarantine_rows_keep_the_whole_line_with_file_and_line(lines_frame):
    parsed = parse_lines(lines_frame(_record(), "not json", source_file="s3://raw/x.ndjson"))
    rows = quarantine_records(parsed, "run-1", "2026-12-01").collect()
    assert [r.asDict() for r in rows] == [
        {
            "reason": REASON_INVALID_JSON,
            "source_file": "s3://raw/x.ndjson",
            "line_number": 2,
            "raw_line": "not json",
            "run_id": "run-1",
            "snapshot_date": "2026-12-01",
        }
    ]


def test_state_is_trimmed_upper_cased_and_defaults_to_unknown(lines_frame):
    locations = [{"state": " tx "}, {"state": "Ca"}, {"state": ""}, {"state": "   "}, {"city": "X"}, None]
    got = _curated(lines_frame, *(_record(location=loc) for loc in locations))
    assert [r["state"] for r in got] == ["TX", "CA", "UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN"]


EMPLOYEE_COUNTS = [
    (250, 250, None),
    (0, 0, None),
    (-5, None, "negative"),
    (12.5, None, "not_an_integer"),
    (250.0, None, "not_an_integer"),
    ("250", None, "not_an_integer"),
    (True, None, "not_an_integer"),
    (3_000_000_000, None, "out_of_range"),
    (None, None, "missing"),
]


def test_employee_count_must_be_a_non_negative_json_integer(lines_frame):
    parsed = parse_lines(lines_frame(*(_record(employee_count=raw) for raw, _, _ in EMPLOYEE_COUNTS)))
    counts = [r["employee_count"] for r in curate_records(parsed).orderBy("source_line").collect()]
    assert counts == [expected for _, expected, _ in EMPLOYEE_COUNTS]
    issues = {
        r["source_line"]: (r["field"], r["issue"])
        for r in data_quality_issues(curate_records(parsed)).collect()
    }
    assert issues == {
        line: ("employee_count", issue) for line, (_, _, issue) in enumerate(EMPLOYEE_COUNTS, 1) if issue
    }


SPACINGS = [
    '"employee_count":{}',
    '"employee_count": {}',
    '"employee_count" : {}',
    '"employee_count":\t {}',
    '"employee_count": \t{}',
]


@pytest.mark.parametrize("spacing", SPACINGS)
def test_a_quoted_employee_count_is_told_from_a_number_however_the_colon_is_spaced(lines_frame, spacing):
    number, text = ('{"facility_id": "F1", ' + spacing.format(value) + "}" for value in ("250", '"250"'))
    assert [r["employee_count"] for r in _curated(lines_frame, number, text)] == [250, None]


def test_whitespace_around_a_line_is_json_whitespace(lines_frame):
    parsed = parse_lines(lines_frame("\t " + _record() + " \t", " \t ", "\t[1]\t", "\t{1\t"))
    got = [(r["line_kind"], r["reason"]) for r in parsed.orderBy("source_line").collect()]
    assert got == [
        ("record", None),
        ("blank", None),
        ("quarantined", REASON_NOT_OBJECT),
        ("quarantined", REASON_INVALID_JSON),
    ]


def test_services_are_trimmed_distinct_non_blank_in_first_occurrence_order(lines_frame):
    services = [" Surgery", "Radiology ", "", "   ", None, "Surgery", "Radiology"]
    got = _curated(lines_frame, _record(services=services), _record(), _record(services=["  "]))
    assert [r["services"] for r in got] == [["Surgery", "Radiology"], [], []]


VALID_UNTIL = [
    ("2026-12-31", dt.date(2026, 12, 31)),
    ("2028-02-29", dt.date(2028, 2, 29)),
    ("2026-02-30", None),
    ("2027-02-29", None),
    ("2026-13-01", None),
    ("2026-00-10", None),
    ("12/31/2026", None),
    ("2026-1-5", None),
    ("2026-12-31T00:00:00", None),
    (" 2026-12-31", None),
    ("31-12-2026", None),
    (20261231, None),
]


def test_valid_until_must_be_a_real_calendar_date_and_the_accreditation_is_kept(lines_frame):
    accreditations = [
        {"accreditation_body": " JC ", "accreditation_id": f" J{i} ", "valid_until": raw}
        for i, (raw, _) in enumerate(VALID_UNTIL)
    ]
    parsed = parse_lines(lines_frame(_record(employee_count=1, accreditations=accreditations)))
    got = [a.asDict() for a in curate_records(parsed).collect()[0]["accreditations"]]
    assert got == [
        {"accreditation_body": "JC", "accreditation_id": f"J{i}", "valid_until": expected}
        for i, (_, expected) in enumerate(VALID_UNTIL)
    ]
    issues = [r.asDict() for r in data_quality_issues(curate_records(parsed)).collect()]
    assert sorted(issues, key=lambda r: r["field"]) == sorted(
        (
            {
                "facility_id": "F1",
                "source_file": "s3://raw/a.ndjson",
                "source_line": 1,
                "field": f"accreditations[{i}].valid_until",
                "issue": "not_a_calendar_date",
                "raw_value": str(raw),
            }
            for i, (raw, expected) in enumerate(VALID_UNTIL)
            if expected is None
        ),
        key=lambda r: r["field"],
    )


def test_calendar_dates_never_raise_under_ansi_mode(spark, lines_frame):
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        test_valid_until_must_be_a_real_calendar_date_and_the_accreditation_is_kept(lines_frame)
    finally:
        spark.conf.set("spark.sql.ansi.enabled", "false")


def test_later_file_wins_then_later_line_within_a_file(spark, lines_frame):
    first = lines_frame(
        _record(facility_name="file0-line1"), _record(facility_name="file0-line2"), file_order=0
    )
    second = lines_frame(
        _record(facility_name="file1-line1"), json.dumps({"facility_id": "F2"}), file_order=1
    )
    curated = curate_records(parse_lines(first.unionByName(second)))
    latest = {r["facility_id"]: r["facility_name"] for r in latest_records(curated).collect()}
    assert latest == {"F1": "file1-line1", "F2": None}

    within = curate_records(parse_lines(first))
    assert [r["facility_name"] for r in latest_records(within).collect()] == ["file0-line2"]


def test_previous_rows_lose_to_any_new_record_and_the_rest_are_carried_forward(lines_frame):
    previous = latest_records(
        curate_records(
            parse_lines(
                lines_frame(
                    _record(facility_id="F1", facility_name="old"),
                    _record(facility_id="F2", facility_name="kept"),
                )
            )
        )
    )
    new = latest_records(
        curate_records(
            parse_lines(lines_frame(_record(facility_id="F1", facility_name="new"), file_order=5))
        )
    )
    merged = latest_records(with_previous(new, previous.drop("file_order")), partitions=3)
    rows = {r["facility_id"]: (r["facility_name"], r["file_order"]) for r in merged.collect()}
    assert rows == {"F1": ("new", 5), "F2": ("kept", -1)}
    assert merged.columns == [*FACILITY_COLUMNS, "file_order"]


def test_issues_travel_with_their_record(lines_frame):
    parsed = parse_lines(
        lines_frame(
            _record(employee_count=-1, accreditations=[{"valid_until": "2026-02-30"}, {"valid_until": None}]),
            _record(facility_id="F2", employee_count="7"),
            _record(facility_id="F3", employee_count=7, accreditations=[{"valid_until": "2026-02-03"}]),
        )
    )
    issues = {
        r["facility_id"]: [(i["field"], i["issue"], i["raw_value"]) for i in r["data_quality_issues"]]
        for r in curate_records(parsed).collect()
    }
    assert issues == {
        "F1": [
            ("employee_count", "negative", "-1"),
            ("accreditations[0].valid_until", "not_a_calendar_date", "2026-02-30"),
            ("accreditations[1].valid_until", "missing", None),
        ],
        "F2": [("employee_count", "not_an_integer", "7")],
        "F3": [],
    }


def test_unknown_top_level_fields_are_counted(lines_frame):
    parsed = parse_lines(
        lines_frame(_record(ownership="x", beds=3), _record(ownership="y"), '{"beds": 1}', "oops")
    )
    counts = {r["field"]: r["count"] for r in unknown_field_counts(parsed).collect()}
    assert counts == {"ownership": 2, "beds": 1}


_FULL = (
    '"facility_id": "F1", "facility_name": "A", "location": {"address": "1 Main", "city": "X", '
    '"state": "PA", "zip": "1"}, "employee_count": 5, "services": ["S"], '
    '"labs": [{"lab_name": "L", "certifications": ["C"]}], '
    '"accreditations": [{"accreditation_body": "B", "accreditation_id": "I", "valid_until": "2027-01-01"}]'
)


@pytest.mark.parametrize(
    ("line", "unknown"),
    [
        ("{" + _FULL + "}", []),
        ("{" + _FULL + ', "extra": 1}', ["extra"]),
        ("{" + _FULL + ', "extra" : 1}', ["extra"]),
        ("{" + _FULL + ',"extra"\t:1}', ["extra"]),
        ("{" + _FULL.replace('"labs": [', '"labs": null, "extra": [') + "}", ["extra"]),
        ("{" + _FULL.replace('"zip": "1"', '"zip": null') + ', "extra": 1}', ["extra"]),
        ("{" + _FULL.replace('"certifications": ["C"]', '"certifications": null') + ', "x": 1}', ["x"]),
        ("{" + _FULL.replace('"valid_until": "2027-01-01"', '"valid_until": null') + ', "x": 1}', ["x"]),
        ("{" + _FULL.replace('"services": ["S"], ', "") + ', "x": 1}', ["x"]),
        ("{" + _FULL.replace(', "zip": "1"', "") + ', "x": 1}', ["x"]),
        ("{" + _FULL.replace(', "certifications": ["C"]', "") + ', "x": 1}', ["x"]),
        ("{" + _FULL.replace(', "valid_until": "2027-01-01"', "") + ', "x": 1}', ["x"]),
        ("{" + _FULL + ', "\\u0078": 1}', ["x"]),
        ("{" + _FULL + ', "extra": {"city": "Y", "state": "Z"}}', ["extra"]),
        ("{" + _FULL + ', "facility_name": "B"}', []),
        ("{" + _FULL.replace('"city": "X"', '"city": "X", "country": "US"') + "}", []),
        ('{"facility_id": "F1", "facility_name": "a\\": b", "extra": 1}', ["extra"]),
        ("{" + _FULL.replace('"facility_name": "A"', '"facility_name": " A"') + "}", []),
    ],
)
def test_unknown_top_level_fields_are_found_however_the_line_is_spelled(lines_frame, line, unknown):
    """Spacing, escapes, absent or null known fields and known names nested under an unknown key."""
    assert json.loads(line)  # every case is a valid JSON object
    (row,) = parse_lines(lines_frame(line)).select("line_kind", "unknown_fields").collect()
    assert (row["line_kind"], row["unknown_fields"] or []) == ("record", unknown)
