"""LocalAthena's own contract: table registration from partition folders and Athena-shaped CSV results."""

from __future__ import annotations

import csv
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glue_jobs.curation.schemas import FACILITY_SCHEMA, hive_columns
from pipeline.local.athena import LocalAthena, discover_partitions, write_athena_csv
from pipeline.local.athena_rules import AthenaQueryRejected
from pipeline.sql_files import load_sql
from pipeline.stages import EXPIRING_ACCREDITATIONS, FACILITY_METRICS

AS_OF = "2026-12-01"
CATALOG_COLUMNS = hive_columns(FACILITY_SCHEMA)


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
    athena.register_table("facilities", {AS_OF: folder}, CATALOG_COLUMNS)
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
        LocalAthena().register_table("facilities", {"2026-12-01' or 1=1 --": folder}, CATALOG_COLUMNS)


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
        LocalAthena().register_table("facilities", {}, CATALOG_COLUMNS)


def test_register_table_with_missing_or_empty_folder_is_a_clear_error(tmp_path):
    empty = tmp_path / "snapshot_date=2026-12-01"
    empty.mkdir()

    with pytest.raises(FileNotFoundError, match="no folder"):
        LocalAthena().register_table("facilities", {AS_OF: tmp_path / "missing"}, CATALOG_COLUMNS)
    with pytest.raises(FileNotFoundError, match=r"no \.parquet files"):
        LocalAthena().register_table("facilities", {AS_OF: empty}, CATALOG_COLUMNS)


def test_register_table_rejects_an_unsafe_name(tmp_path):
    with pytest.raises(ValueError, match="identifier"):
        LocalAthena().register_table("facilities; drop table x", {AS_OF: tmp_path}, CATALOG_COLUMNS)


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

    result = athena.run_query(EXPIRING_ACCREDITATIONS.sql_file, [AS_OF, "6"], output)

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


def _with_accreditation_scope(columns: list[dict]) -> list[dict]:
    """The catalog after a crawl merged a new field into the accreditation struct."""
    widened = "struct<accreditation_body:string,accreditation_id:string,valid_until:date,scope:string>"
    return [
        {**column, "type": f"array<{widened}>"} if column["name"] == "accreditations" else column
        for column in columns
    ]


def test_an_unnest_alias_list_shorter_than_the_row_is_refused_as_trino_refuses_it(tmp_path):
    """Trino answers MISMATCHED_COLUMN_ALIASES when `unnest(...) as t (a, b, c)` meets a row of four fields
    (https://trino.io/docs/current/sql/select.html#unnest); DuckDB alone renames the first three."""
    accreditation = pa.struct(
        [
            pa.field("accreditation_body", pa.string()),
            pa.field("accreditation_id", pa.string()),
            pa.field("valid_until", pa.date32()),
            pa.field("scope", pa.string()),
        ]
    )
    folder = tmp_path / "facilities" / f"snapshot_date={AS_OF}"
    folder.mkdir(parents=True)
    rows = {
        "facility_id": ["F1"],
        "state": ["TX"],
        "accreditations": [
            [
                {
                    "accreditation_body": "JC",
                    "accreditation_id": "J1",
                    "valid_until": date(2027, 1, 1),
                    "scope": "full",
                }
            ]
        ],
    }
    schema = pa.schema(
        [("facility_id", pa.string()), ("state", pa.string()), ("accreditations", pa.list_(accreditation))]
    )
    pq.write_table(pa.Table.from_pydict(rows, schema=schema), folder / "part-0.parquet")
    athena = LocalAthena()
    athena.register_table("facilities", {AS_OF: folder}, _with_accreditation_scope(CATALOG_COLUMNS))

    with pytest.raises(
        AthenaQueryRejected, match="MISMATCHED_COLUMN_ALIASES: Column alias list has 3 entries"
    ):
        athena.execute(load_sql(EXPIRING_ACCREDITATIONS.sql_file), [AS_OF, "6"])


def test_a_string_compared_with_a_date_is_refused_as_trino_refuses_it(curated_athena, make_facility):
    """Trino does not coerce varchar to date ("Cannot apply operator: varchar = date",
    https://trino.io/docs/current/language/types.html); DuckDB alone casts the string and compares."""
    athena = curated_athena({AS_OF: [make_facility("A")]})

    with pytest.raises(AthenaQueryRejected, match="TYPE_MISMATCH: Cannot apply operator: varchar = date"):
        athena.execute("select facility_id from facilities where snapshot_date = date '2026-12-01'")
    assert athena.execute(
        "select facility_id from facilities where cast(snapshot_date as date) = date '2026-12-01'"
    ).fetchall() == [("A",)]


def test_columns_take_the_catalog_types_and_a_missing_column_reads_null(curated_athena, make_facility):
    # The test partition has no data_quality_issues column; the catalog has it, so Athena reads NULL.
    athena = curated_athena({AS_OF: [make_facility("A")]})

    types = dict(
        athena.connection.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'facilities'"
        ).fetchall()
    )
    (issues,) = athena.connection.execute("select data_quality_issues from facilities").fetchone()

    assert list(types) == [column["name"] for column in CATALOG_COLUMNS] + ["snapshot_date"]
    assert types["employee_count"] == "INTEGER"
    assert types["data_quality_issues"] == "STRUCT(field VARCHAR, issue VARCHAR, raw_value VARCHAR)[]"
    assert issues is None


def test_a_file_whose_column_type_differs_from_the_catalog_is_refused(tmp_path):
    """Athena reads Parquet with the catalog's types and fails the query (HIVE_BAD_DATA) where a file's
    column has another type; DuckDB alone would read the file's own type."""
    folder = tmp_path / "facilities" / f"snapshot_date={AS_OF}"
    folder.mkdir(parents=True)
    table = pa.table({"facility_id": ["F1"], "employee_count": pa.array([12], pa.int64())})
    pq.write_table(table, folder / "part-0.parquet")

    with pytest.raises(AthenaQueryRejected, match=r"HIVE_BAD_DATA: column 'employee_count'.*BIGINT.*INTEGER"):
        LocalAthena().register_table("facilities", {AS_OF: folder}, CATALOG_COLUMNS)


def test_nulls_sort_last_in_both_directions_as_in_trino(curated_athena, make_facility):
    """Trino's ORDER BY puts NULLs last by default, ascending and descending alike
    (https://trino.io/docs/current/sql/select.html#order-by-clause)."""
    athena = curated_athena(
        {
            AS_OF: [
                make_facility("A", employee_count=5),
                make_facility("B", employee_count=None),
                make_facility("C", employee_count=9),
            ]
        }
    )

    ascending = athena.execute("select facility_id from facilities order by employee_count").fetchall()
    descending = athena.execute("select facility_id from facilities order by employee_count desc").fetchall()

    assert ascending == [("A",), ("C",), ("B",)]
    assert descending == [("C",), ("A",), ("B",)]


def test_several_run_folders_of_one_partition_are_all_read(tmp_path, make_facility, partition_writer):
    # A crawler registers every run folder it finds under snapshot_date=X; Athena reads them all.
    first = partition_writer(tmp_path / "run_id=a", AS_OF, [make_facility("A")])
    second = partition_writer(tmp_path / "run_id=b", AS_OF, [make_facility("A")])
    athena = LocalAthena()
    athena.register_table("facilities", {AS_OF: [first, second]}, CATALOG_COLUMNS)

    assert athena.execute("select count(*) from facilities").fetchone() == (2,)
