"""LocalAthena's own contract: table registration from partition folders and Athena-shaped CSV results."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from pipeline.local.athena import LocalAthena, discover_partitions, write_athena_csv
from pipeline.stages import EXPIRING_ACCREDITATIONS, FACILITY_METRICS

AS_OF = "2026-12-01"


def test_register_table_adds_snapshot_date_as_a_string_column(curated_athena, make_facility):
    athena = curated_athena({AS_OF: [make_facility("A")], "2026-11-01": [make_facility("B")]})

    rows = athena.connection.execute(
        "select facility_id, snapshot_date from facilities order by 1"
    ).fetchall()
    snapshot_type = athena.connection.execute(
        "select data_type from information_schema.columns "
        "where table_name = 'facilities' and column_name = 'snapshot_date'"
    ).fetchone()

    assert rows == [("A", AS_OF), ("B", "2026-11-01")]
    assert snapshot_type == ("VARCHAR",)


def test_register_table_keeps_the_nested_curated_types(curated_athena, make_facility):
    athena = curated_athena({AS_OF: [make_facility("A", accreditations=[("JC", "J1", date(2027, 1, 1))])]})

    types = dict(
        athena.connection.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'facilities'"
        ).fetchall()
    )

    assert types["accreditations"] == (
        "STRUCT(accreditation_body VARCHAR, accreditation_id VARCHAR, valid_until DATE)[]"
    )
    assert types["services"] == "VARCHAR[]"


def test_register_table_is_a_view_over_the_files_where_they_lie(tmp_path, make_facility, partition_writer):
    # A quote in the path must survive the literal the view is defined with.
    root = tmp_path / "o'brien" / "facilities"
    folder = partition_writer(root, AS_OF, [make_facility("A")])
    athena = LocalAthena()
    athena.register_table("facilities", {AS_OF: folder})
    partition_writer(root, AS_OF, [make_facility("A"), make_facility("B")])  # rewritten in place

    kind = athena.connection.execute(
        "select table_type from information_schema.tables where table_name = 'facilities'"
    ).fetchone()
    rows = athena.connection.execute("select facility_id from facilities order by 1").fetchall()
    assert kind == ("VIEW",)
    assert rows == [("A",), ("B",)]


def test_register_table_rejects_a_partition_value_that_is_not_a_date(
    tmp_path, make_facility, partition_writer
):
    folder = partition_writer(tmp_path / "facilities", AS_OF, [make_facility("A")])
    with pytest.raises(ValueError, match="not a YYYY-MM-DD date"):
        LocalAthena().register_table("facilities", {"2026-12-01' or 1=1 --": folder})


def test_discover_partitions_finds_the_snapshot_folders_of_a_table_root(tmp_path):
    for name in ("snapshot_date=2026-12-01", "snapshot_date=2026-11-01", "_temporary"):
        (tmp_path / name).mkdir()
    (tmp_path / "_SUCCESS").touch()

    assert discover_partitions(tmp_path) == {
        "2026-11-01": tmp_path / "snapshot_date=2026-11-01",
        "2026-12-01": tmp_path / "snapshot_date=2026-12-01",
    }
    with pytest.raises(FileNotFoundError, match="no table folder"):
        discover_partitions(tmp_path / "missing")


def test_register_table_without_partitions_is_a_clear_error():
    with pytest.raises(ValueError, match="no partitions"):
        LocalAthena().register_table("facilities", {})


def test_register_table_with_missing_or_empty_folder_is_a_clear_error(tmp_path):
    empty = tmp_path / "snapshot_date=2026-12-01"
    empty.mkdir()

    with pytest.raises(FileNotFoundError, match="no folder"):
        LocalAthena().register_table("facilities", {AS_OF: tmp_path / "missing"})
    with pytest.raises(FileNotFoundError, match=r"no \.parquet files"):
        LocalAthena().register_table("facilities", {AS_OF: empty})


def test_register_table_rejects_an_unsafe_name(tmp_path):
    with pytest.raises(ValueError, match="identifier"):
        LocalAthena().register_table("facilities; drop table x", {AS_OF: tmp_path})


def test_run_query_writes_athena_shaped_csv(curated_athena, make_facility, tmp_path):
    athena = curated_athena(
        {
            AS_OF: [
                make_facility("F1", employee_count=None, services=("A", "B"), accreditations=[]),
                make_facility("F2", accreditations=[("JC", "J1", date(2027, 2, 28)), ("JC", "J0", None)]),
            ]
        }
    )
    output = tmp_path / "athena-results" / "facility_metrics.csv"

    result = athena.run_query(FACILITY_METRICS.sql_file, [AS_OF], output)

    assert result.row_count == 2
    assert result.path == output
    assert output.read_bytes().decode("utf-8").splitlines() == [
        '"facility_id","facility_name","employee_count","number_of_offered_services",'
        '"expiry_date_of_first_accreditation"',
        '"F1","Facility F1",,"2",',
        '"F2","Facility F2","100","1","2027-02-28"',
    ]
    with output.open(encoding="utf-8", newline="") as csv_file:
        parsed = list(csv.DictReader(csv_file))
    assert parsed[0] == {
        "facility_id": "F1",
        "facility_name": "Facility F1",
        "employee_count": "",
        "number_of_offered_services": "2",
        "expiry_date_of_first_accreditation": "",
    }


def test_run_query_with_no_rows_writes_the_header_only(curated_athena, make_facility, tmp_path):
    athena = curated_athena({AS_OF: [make_facility("F1")]})
    output = tmp_path / "expiring.csv"

    result = athena.run_query(EXPIRING_ACCREDITATIONS.sql_file, [AS_OF, 6, AS_OF], output)

    assert result.row_count == 0
    assert result.columns == (
        "facility_id",
        "facility_name",
        "state",
        "accreditation_body",
        "accreditation_id",
        "valid_until",
        "days_until_expiry",
    )
    assert output.read_text(encoding="utf-8") == ",".join(f'"{c}"' for c in result.columns) + "\n"


def test_csv_quotes_embedded_quotes_commas_newlines_and_unicode(tmp_path):
    rows = [('St. "Mary\'s", East', "line one\nline two", "Zürich · Ω", None, True, 7)]
    output = tmp_path / "quoted.csv"

    write_athena_csv(("name", "note", "city", "missing", "flag", "count"), rows, output)

    with output.open(encoding="utf-8", newline="") as csv_file:
        parsed = list(csv.reader(csv_file))
    assert parsed == [
        ["name", "note", "city", "missing", "flag", "count"],
        ['St. "Mary\'s", East', "line one\nline two", "Zürich · Ω", "", "true", "7"],
    ]
    assert output.read_text(encoding="utf-8").endswith(',"Zürich · Ω",,"true","7"\n')
