"""Athena's documented query rules that DuckDB does not enforce; the local Athena refuses what Athena refuses.

DuckDB accepts `?` anywhere, renames the first N fields of an unnested row whatever N is, and compares a
VARCHAR with a DATE by casting it. Athena (engine v3, Trino) rejects all three, so a query that only ran
locally would fail on its first real execution. Each check below raises `AthenaQueryRejected` with the
error Athena would answer, before DuckDB sees the query. The checks work on sqlglot's syntax tree with the
column types of the Glue catalog (sqlglot's type annotation resolves them through CTEs and aliases).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

SOURCE_DIALECT = "athena"

# {table: {column: Hive type string}}, as the Glue catalog holds them (data columns and partition keys).
CatalogSchema = Mapping[str, Mapping[str, str]]


class AthenaQueryRejected(ValueError):
    """A query Athena would refuse; the message starts with the error name Athena answers."""


def typed_tree(tree: exp.Expr, schema: CatalogSchema) -> exp.Expr:
    """The query qualified and annotated with the catalog's types (a new tree; `tree` is left alone)."""
    qualified = qualify(
        tree.copy(),
        schema={table: dict(columns) for table, columns in schema.items()},
        dialect=SOURCE_DIALECT,
        validate_qualify_columns=False,
    )
    return annotate_types(qualified, schema=dict(schema), dialect=SOURCE_DIALECT)


def check_parameters_in_where(tree: exp.Expr) -> None:
    """Every `?` lies inside a WHERE clause.

    Athena, "Use parameterized queries" (https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html):
    "Currently, `?` parameters can be placed only in the `WHERE` clause. Syntax like `SELECT ? FROM table`
    is not supported."
    """
    for placeholder in tree.find_all(exp.Placeholder):
        if placeholder.find_ancestor(exp.Where) is None:
            context = (placeholder.find_ancestor(exp.Select) or placeholder).sql(dialect=SOURCE_DIALECT)
            raise AthenaQueryRejected(
                "a `?` parameter outside a WHERE clause, which Athena does not support "
                f"(\"?\" parameters can be placed only in the WHERE clause): {context[:200]}"
            )


def check_unnest_aliases(typed: exp.Expr) -> None:
    """The column list of `unnest(array_of_rows) as t (c1, ..., cn)` names every field of the row type.

    Trino, "UNNEST" (https://trino.io/docs/current/sql/select.html#unnest): an array of rows expands
    into one column per field; Trino answers MISMATCHED_COLUMN_ALIASES ("Column alias list has N entries
    but 't' has M columns available") when the alias list and the fields differ in number. DuckDB
    silently renames the first N fields instead. `typed` comes from `typed_tree`.
    """
    for unnest in typed.find_all(exp.Unnest):
        alias = unnest.args.get("alias")
        if alias is None or not alias.columns:
            continue
        for argument in unnest.expressions:
            available = _unnested_column_count(argument)
            if available is None:
                raise AthenaQueryRejected(
                    f"COLUMN_NOT_FOUND: the type of unnest({argument.sql(dialect=SOURCE_DIALECT)}) is not in "
                    "the catalog; register the table with its columns before running the query"
                )
            if available != len(alias.columns):
                raise AthenaQueryRejected(
                    f"MISMATCHED_COLUMN_ALIASES: Column alias list has {len(alias.columns)} entries but "
                    f"'{alias.name}' has {available} columns available "
                    f"(unnest({argument.sql(dialect=SOURCE_DIALECT)}) is {argument.type.sql(SOURCE_DIALECT)})"
                )


def _unnested_column_count(argument: exp.Expr) -> int | None:
    data_type = argument.type
    if data_type is None or not data_type.is_type(exp.DataType.Type.ARRAY) or not data_type.expressions:
        return None
    element = data_type.expressions[0]
    if element.is_type(exp.DataType.Type.STRUCT):
        return len(element.expressions)
    if element.is_type(exp.DataType.Type.UNKNOWN):
        return None
    return 1


_OPERATORS = {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_TEXT_TYPES = exp.DataType.TEXT_TYPES
_DATE_AND_NUMBER_TYPES = {*exp.DataType.TEMPORAL_TYPES, *exp.DataType.NUMERIC_TYPES}


def check_comparisons_without_coercion(typed: exp.Expr) -> None:
    """No comparison sets a character value against a date, time or number.

    Trino coerces implicitly only between numeric types and between date/time types ("Implicit
    coercion", https://trino.io/docs/current/language/types.html): `varchar = date` is "Cannot apply
    operator: varchar = date" (TYPE_MISMATCH) on Athena, while DuckDB casts the string and compares.
    `typed` comes from `typed_tree`; an operand of unknown type (a `?` parameter) is not judged here,
    since Athena substitutes the parameter's literal text.
    """
    for comparison in typed.find_all(*_OPERATORS):
        left, right = comparison.left.type, comparison.right.type
        if left is None or right is None:
            continue
        kinds = {left.this, right.this}
        if kinds & _TEXT_TYPES and kinds & _DATE_AND_NUMBER_TYPES:
            raise AthenaQueryRejected(
                f"TYPE_MISMATCH: Cannot apply operator: {left.sql(SOURCE_DIALECT).lower()} "
                f"{_OPERATORS[type(comparison)]} {right.sql(SOURCE_DIALECT).lower()} in "
                f"{comparison.sql(dialect=SOURCE_DIALECT)}"
            )
