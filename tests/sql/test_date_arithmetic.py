"""Athena's date_add('month', n, d) clamps to a shorter month's end and is a DATE; so must the translation."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.local.athena import LocalAthena, transpile_athena_sql

# Trino's date_add('month', ...) keeps the day of month and clamps it to the last day of the
# target month (2026-08-31 + 6 months = 2027-02-28), so these are the values Athena returns.
MONTH_ARITHMETIC = [
    ("2026-08-31", 6, "2027-02-28"),
    ("2027-08-31", 6, "2028-02-29"),
    ("2028-02-29", 12, "2029-02-28"),
    ("2028-02-29", 6, "2028-08-29"),
    ("2026-01-31", 1, "2026-02-28"),
    ("2026-03-31", -1, "2026-02-28"),
    ("2026-12-01", 6, "2027-06-01"),
    ("2026-05-31", 6, "2026-11-30"),
]


@pytest.mark.parametrize(("start", "months", "expected"), MONTH_ARITHMETIC)
def test_month_addition_clamps_like_athena_and_stays_a_date(start: str, months: int, expected: str):
    athena = LocalAthena()

    query = f"select date_add('month', {months}, date '{start}') as window_end"
    (window_end,) = athena.execute(query).fetchone()

    # Trino's date_add of a DATE is a DATE; DuckDB's `date + interval` alone would be a TIMESTAMP.
    assert type(window_end) is date
    assert window_end == date.fromisoformat(expected)


@pytest.mark.parametrize(("start", "months", "expected"), MONTH_ARITHMETIC)
def test_month_addition_with_parameters_in_where(start: str, months: int, expected: str):
    athena = LocalAthena()

    # The `?` order is Athena's (months first); DuckDB's translation puts the date first.
    rows = athena.execute(
        "select 1 as hit where date_add('month', cast(? as integer), date(?)) = date(?)",
        [str(months), start, expected],
    ).fetchall()

    assert rows == [(1,)]


def test_parameters_bind_in_athena_text_order_even_when_translation_reorders_them():
    duckdb_sql, count = transpile_athena_sql(
        "select 1 as hit where date_add('month', cast(? as integer), date(?)) > current_date", {}
    )

    assert count == 2
    assert duckdb_sql.index("$p2") < duckdb_sql.index("$p1")


def test_question_marks_in_strings_and_comments_are_not_parameters():
    athena = LocalAthena()

    rows = athena.execute("select '?' as mark where 'bound' = ? -- why?\n", ["bound"]).fetchall()

    assert rows == [("?",)]


def test_wrong_number_of_values_is_a_clear_error():
    with pytest.raises(ValueError, match="1 `\\?` parameter\\(s\\), got 2"):
        LocalAthena().execute("select 1 as one where 'a' = ?", ["a", "b"])
