"""Local stand-in for Athena: the Athena (Trino) SQL of sql/, transpiled by sqlglot, run on DuckDB."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import ErrorLevel, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from pipeline.sql_files import load_sql

SOURCE_DIALECT = "athena"
TARGET_DIALECT = "duckdb"
PARTITION_COLUMN = "snapshot_date"

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_FETCH_ROWS = 10_000


_SNAPSHOT_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class QueryResult:
    """What a query run leaves behind: its CSV (Athena's output format) and how many data rows it holds."""

    path: Path
    row_count: int
    columns: tuple[str, ...]


def transpile_athena_sql(sql_text: str) -> tuple[str, int]:
    """DuckDB SQL for one Athena query, and how many parameters it takes.

    The `?` marks become named parameters `$p1..$pN` numbered in the order they appear in the
    Athena text, so DuckDB binds them exactly as Athena's ExecutionParameters do even where the
    translation reorders arguments (DuckDB's form of `date_add('month', ?, date(?))` puts the
    date first).
    """
    numbered, placeholder_count = _numbered_placeholders(sql_text)
    statements = sqlglot.parse(numbered, read=SOURCE_DIALECT, error_level=ErrorLevel.RAISE)
    if len(statements) != 1 or statements[0] is None:
        raise ValueError(f"expected exactly one statement, found {len(statements)}")
    tree = statements[0].transform(_unnest_rows_to_columns)
    duckdb_sql = tree.sql(dialect=TARGET_DIALECT, unsupported_level=ErrorLevel.RAISE)
    return duckdb_sql, placeholder_count


def _numbered_placeholders(sql_text: str) -> tuple[str, int]:
    # The tokenizer, unlike a regex, leaves `?` inside string literals and comments alone.
    tokens = Dialect.get_or_raise(SOURCE_DIALECT).tokenize(sql_text)
    placeholders = [token for token in tokens if token.token_type is TokenType.PLACEHOLDER]
    pieces: list[str] = []
    position = 0
    for number, token in enumerate(placeholders, start=1):
        if sql_text[token.start : token.end + 1] != "?":
            raise ValueError(f"only `?` parameters are supported, found {token.text!r}")
        pieces.append(sql_text[position : token.start])
        pieces.append(f":p{number}")
        position = token.end + 1
    pieces.append(sql_text[position:])
    return "".join(pieces), len(placeholders)


def _unnest_rows_to_columns(node: exp.Expr) -> exp.Expr:
    """Give DuckDB Trino's meaning of `unnest(array_of_rows) as t (field_1, ..., field_n)`.

    Trino expands each row into one column per field, DuckDB's UNNEST yields one struct
    column, and sqlglot keeps the Trino form as is. DuckDB's `unnest(x, max_depth => 2)` in a
    select list expands list and struct both, with the fields in declaration order, which the
    alias list then renames by position as Trino does.
    """
    if not isinstance(node, exp.Unnest) or not isinstance(node.parent, exp.Join):
        return node
    alias = node.args.get("alias")
    if len(node.expressions) != 1 or alias is None or len(alias.columns) < 2 or node.args.get("offset"):
        return node
    expanded = exp.Unnest(
        expressions=[
            node.expressions[0].copy(),
            exp.Kwarg(this=exp.var("max_depth"), expression=exp.Literal.number(2)),
        ]
    )
    return exp.Select(expressions=[expanded]).subquery(alias.copy())


class LocalAthena:
    """Athena over DuckDB: tables from partition folders, queries from sql/, results as Athena CSV."""

    def __init__(self, connection: duckdb.DuckDBPyConnection | None = None) -> None:
        self.connection = connection if connection is not None else duckdb.connect()

    def register_table(self, name: str, partitions: Mapping[str, str | Path]) -> None:
        """Create (or replace) table `name` from {snapshot_date: folder of Parquet files}.

        Each folder is one partition, as the Glue crawler sees it: its files carry the data
        columns and the partition value becomes the string column snapshot_date.
        """
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"table name must be a lowercase SQL identifier, got {name!r}")
        if not partitions:
            raise ValueError(f"table {name!r} has no partitions to register (empty partitions mapping)")
        selects: list[str] = []
        for snapshot_date, folder in sorted(partitions.items()):
            if not _SNAPSHOT_DATE.fullmatch(snapshot_date):
                raise ValueError(f"partition value of {name!r} is not a YYYY-MM-DD date: {snapshot_date!r}")
            files = ", ".join(
                _sql_string(str(file)) for file in _parquet_files(Path(folder), name, snapshot_date)
            )
            # hive_partitioning=false: the partition value comes from the mapping, never from
            # a second reading of the folder name.
            selects.append(
                f"select *, cast({_sql_string(snapshot_date)} as varchar) as {PARTITION_COLUMN} "
                f"from read_parquet([{files}], hive_partitioning = false, union_by_name = true)"
            )
        union = "\nunion all by name\n".join(selects)
        # A view, like an Athena table over S3: queries read the Parquet files where they lie, and a
        # filter on snapshot_date reads only that partition's files (DuckDB views take no parameters,
        # hence the quoted literals).
        self.connection.execute(f"create or replace view {name} as\n{union}")

    def execute(self, sql_text: str, parameters: Sequence[object] = ()) -> duckdb.DuckDBPyConnection:
        """Run one Athena query text with its `?` values in order; the connection holds the result."""
        duckdb_sql, expected = transpile_athena_sql(sql_text)
        if len(parameters) != expected:
            raise ValueError(f"query has {expected} `?` parameter(s), got {len(parameters)} value(s)")
        named = {f"p{number}": value for number, value in enumerate(parameters, start=1)}
        return self.connection.execute(duckdb_sql, named)

    def run_query(self, sql_file: str, parameters: Sequence[object], output_path: str | Path) -> QueryResult:
        """Run a query file of sql/ and write its result where Athena would: a CSV at `output_path`."""
        cursor = self.execute(load_sql(sql_file), parameters)
        columns = tuple(column[0] for column in cursor.description)
        return write_athena_csv(columns, _fetch_batches(cursor), Path(output_path))


def discover_partitions(table_root: str | Path) -> dict[str, Path]:
    """{snapshot_date: folder} for the `snapshot_date=...` folders under a table root (the crawler's view)."""
    root = Path(table_root)
    if not root.is_dir():
        raise FileNotFoundError(f"no table folder {root}")
    prefix = f"{PARTITION_COLUMN}="
    return {
        folder.name.removeprefix(prefix): folder
        for folder in sorted(root.iterdir())
        if folder.is_dir() and folder.name.startswith(prefix)
    }


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parquet_files(folder: Path, table: str, snapshot_date: str) -> list[Path]:
    partition = f"partition {PARTITION_COLUMN}={snapshot_date} of {table!r}"
    if not folder.is_dir():
        raise FileNotFoundError(f"{partition}: no folder {folder}")
    files = sorted(path for path in folder.iterdir() if path.suffix == ".parquet" and path.is_file())
    if not files:
        raise FileNotFoundError(f"{partition}: no .parquet files in {folder}")
    return files


def _fetch_batches(cursor: duckdb.DuckDBPyConnection) -> Iterable[tuple]:
    while rows := cursor.fetchmany(_FETCH_ROWS):
        yield from rows


def athena_csv_field(value: object) -> str:
    """One CSV field as Athena writes it: NULL empty and unquoted, everything else double-quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ", timespec="milliseconds")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return '"' + text.replace('"', '""') + '"'


def write_athena_csv(columns: Sequence[str], rows: Iterable[Sequence[object]], path: Path) -> QueryResult:
    """Write rows in Athena's result format (quoted header, quoted values, empty NULL, UTF-8, LF)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    row_count = 0
    with path.open("w", encoding="utf-8", newline="") as output:
        output.write(",".join(athena_csv_field(column) for column in columns) + "\n")
        for row in rows:
            output.write(",".join(athena_csv_field(value) for value in row) + "\n")
            row_count += 1
    return QueryResult(path=path, row_count=row_count, columns=tuple(columns))
