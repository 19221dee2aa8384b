"""Athena's date_add('month', n, d) clamps to a shorter month's end; the DuckDB translation must agree."""

from __future__ import annotations

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
def test_month_addition_clamps_like_athena(start: str, months: int, expected: str):
    athena = LocalAthena()

    # The `?` order is Athena's (months first); DuckDB's translation puts the date first.
    (clamped,) = athena.execute(
        "select cast(date_add('month', ?, date(?)) as date) = date(?) as clamped", [months, start, expected]
    ).fetchone()

    assert clamped is True


def test_parameters_bind_in_athena_text_order_even_when_translation_reorders_them():
    duckdb_sql, count = transpile_athena_sql("select date_add('month', ?, date(?)) as window_end")

    assert count == 2
    assert duckdb_sql.index("$p2") < duckdb_sql.index("$p1")


def test_question_marks_in_strings_and_comments_are_not_parameters():
    athena = LocalAthena()

    row = athena.execute("select '?' as mark, ? as value -- why?\n", ["bound"]).fetchone()

    assert row == ("?", "bound")


def test_wrong_number_of_values_is_a_clear_error():
    with pytest.raises(ValueError, match="1 `\\?` parameter\\(s\\), got 2"):
        LocalAthena().execute("select ? as only_one", ["a", "b"])
