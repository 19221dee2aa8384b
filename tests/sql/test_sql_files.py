"""The query files themselves: strict Athena syntax, header, parameters, partition filter, translation."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlglot
from sqlglot import ErrorLevel, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from glue_jobs.curation.schemas import FACILITY_SCHEMA, hive_columns
from pipeline.local.athena import transpile_athena_sql
from pipeline.local.athena_rules import (
    AthenaQueryRejected,
    check_parameters_in_where,
    check_unnest_aliases,
    typed_tree,
)
from pipeline.sql_files import SQL_DIR, load_sql, sql_path
from pipeline.stages import QUERY_STAGES, Stage

STAGE_IDS = [stage.name for stage in QUERY_STAGES]
# The facilities table as the Glue job registers it (the crawler registers the same columns).
CATALOG = {
    "facilities": {c["name"]: c["type"] for c in hive_columns(FACILITY_SCHEMA)} | {"snapshot_date": "string"}
}


def placeholder_count(sql_text: str) -> int:
    tokens = Dialect.get_or_raise("athena").tokenize(sql_text)
    return sum(token.token_type is TokenType.PLACEHOLDER for token in tokens)


def test_every_file_of_sql_dir_belongs_to_a_stage():
    assert sorted(path.name for path in SQL_DIR.glob("*.sql")) == sorted(s.sql_file for s in QUERY_STAGES)


@pytest.mark.parametrize("stage", QUERY_STAGES, ids=STAGE_IDS)
def test_parses_as_one_athena_select_at_strict_error_level(stage: Stage):
    statements = sqlglot.parse(load_sql(stage.sql_file), read="athena", error_level=ErrorLevel.RAISE)

    assert len(statements) == 1
    assert isinstance(statements[0], exp.Select)


@pytest.mark.parametrize("stage", QUERY_STAGES, ids=STAGE_IDS)
def test_question_marks_match_the_stage_parameters(stage: Stage):
    sql_text = load_sql(stage.sql_file)

    assert placeholder_count(sql_text) == len(stage.parameters)
    # Athena counts every `?` of the text, so none may hide in a comment or a string.
    assert sql_text.count("?") == len(stage.parameters)


@pytest.mark.parametrize("stage", QUERY_STAGES, ids=STAGE_IDS)
def test_header_states_grain_and_parameters_in_order(stage: Stage):
    header = []
    for line in load_sql(stage.sql_file).splitlines():
        if not line.startswith("--"):
            break
        header.append(line)
    text = "\n".join(header)
    assert "Grain: one row per" in text
    listed = [line.split()[2] for line in header if line[2:].strip()[:2].rstrip(".").isdigit()]
    assert tuple(listed) == stage.parameters


@pytest.mark.parametrize("stage", QUERY_STAGES, ids=STAGE_IDS)
def test_reads_one_partition_with_a_parameter(stage: Stage):
    tree = sqlglot.parse_one(load_sql(stage.sql_file), read="athena")

    partition_filters = [
        eq
        for eq in tree.find_all(exp.EQ)
        if isinstance(eq.this, exp.Column)
        and eq.this.name == "snapshot_date"
        and isinstance(eq.expression, exp.Placeholder)
    ]
    assert len(partition_filters) == 1
    cte_names = {cte.alias for cte in tree.find_all(exp.CTE)}
    base_tables = [table.name for table in tree.find_all(exp.Table) if table.name not in cte_names]
    assert base_tables == ["facilities"]


@pytest.mark.parametrize("stage", QUERY_STAGES, ids=STAGE_IDS)
def test_lowercase_keywords(stage: Stage):
    tokens = Dialect.get_or_raise("athena").tokenize(load_sql(stage.sql_file))
    keyword_types = {TokenType.SELECT, TokenType.FROM, TokenType.WHERE, TokenType.WITH, TokenType.JOIN}

    assert all(token.text.islower() for token in tokens if token.token_type in keyword_types)


@pytest.mark.parametrize("stage", QUERY_STAGES, ids=STAGE_IDS)
def test_transpiles_to_duckdb_with_numbered_parameters(stage: Stage):
    duckdb_sql, count = transpile_athena_sql(load_sql(stage.sql_file), CATALOG)

    assert count == len(stage.parameters)
    assert "?" not in duckdb_sql
    assert all(f"$p{number}" in duckdb_sql for number in range(1, count + 1))


@pytest.mark.parametrize("stage", QUERY_STAGES, ids=STAGE_IDS)
def test_every_parameter_lies_in_a_where_clause(stage: Stage):
    """Athena, "Use parameterized queries": "Currently, `?` parameters can be placed only in the `WHERE`
    clause. Syntax like `SELECT ? FROM table` is not supported."
    (https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html)"""
    tree = sqlglot.parse_one(load_sql(stage.sql_file), read="athena")

    placeholders = list(tree.find_all(exp.Placeholder))
    assert len(placeholders) == len(stage.parameters)
    assert all(placeholder.find_ancestor(exp.Where) is not None for placeholder in placeholders)
    check_parameters_in_where(tree)


@pytest.mark.parametrize(
    "sql_text",
    [
        # The form the stage 2, lapsed and stage 4 queries had: a parameter in a CTE's select list.
        "with run_parameters as (select cast(? as date) as as_of) select as_of from run_parameters",
        "select ? as value from facilities",
        "select facility_id from facilities group by facility_id having count(*) > ?",
    ],
)
def test_a_parameter_outside_where_is_refused_as_athena_refuses_it(sql_text: str):
    with pytest.raises(AthenaQueryRejected, match="only in the WHERE clause"):
        transpile_athena_sql(sql_text, CATALOG)


@pytest.mark.parametrize("stage", QUERY_STAGES, ids=STAGE_IDS)
def test_every_unnest_alias_list_names_the_curated_struct_fields_in_order(stage: Stage):
    """Trino, "UNNEST" (https://trino.io/docs/current/sql/select.html#unnest): an array of rows expands into
    one column per field, and an alias list of another length is MISMATCHED_COLUMN_ALIASES. The fields
    are the Glue job's curated schema, which the job and the crawler register in the catalog."""
    typed = typed_tree(sqlglot.parse_one(load_sql(stage.sql_file), read="athena"), CATALOG)
    aliased = [unnest for unnest in typed.find_all(exp.Unnest) if unnest.args.get("alias")]

    assert aliased, "every stage query unnests the accreditations"
    for unnest in aliased:
        (argument,) = unnest.expressions
        curated_fields = FACILITY_SCHEMA[argument.name].dataType.elementType.fieldNames()
        assert [column.name for column in unnest.args["alias"].columns] == curated_fields
    check_unnest_aliases(typed)


def test_load_sql_rejects_paths_and_unknown_files():
    with pytest.raises(ValueError, match="bare file name"):
        load_sql("../pyproject.toml")
    with pytest.raises(ValueError, match="bare file name"):
        load_sql("sql/stage1_facility_metrics.sql")
    with pytest.raises(FileNotFoundError, match="no query file"):
        load_sql("stage9_nothing.sql")


def test_load_sql_reads_the_repository_file():
    assert sql_path("stage1_facility_metrics.sql").parent == SQL_DIR
    assert SQL_DIR.parent.joinpath("pipeline", "stages.py").is_file()


def test_sql_files_import_without_duckdb_or_sqlglot():
    probe = (
        "import sys, pipeline.sql_files as s; "
        "s.load_sql('stage1_facility_metrics.sql'); "
        "assert not {'duckdb', 'sqlglot', 'pyarrow'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
