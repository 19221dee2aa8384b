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

from pipeline.local.athena_rules import (
    SOURCE_DIALECT,
    AthenaQueryRejected,
    CatalogSchema,
    check_comparisons_without_coercion,
    check_parameters_in_where,
    check_unnest_aliases,
    typed_tree,
)
from pipeline.sql_files import load_sql

TARGET_DIALECT = "duckdb"
PARTITION_COLUMN = "snapshot_date"

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_FETCH_ROWS = 10_000


_SNAPSHOT_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# One Parquet folder of a partition, or several (a crawler registers every run folder it finds).
PartitionFolders = str | Path | Sequence[str | Path]


@dataclass(frozen=True)
class QueryResult:
    """What a query run leaves behind: its CSV (Athena's output format) and how many data rows it holds."""

    path: Path
    row_count: int
    columns: tuple[str, ...]


def transpile_athena_sql(sql_text: str, schema: CatalogSchema) -> tuple[str, int]:
    """DuckDB SQL for one Athena query over the catalog `schema`, and how many parameters it takes.

    Raises AthenaQueryRejected where Athena would refuse the query (see athena_rules). The `?` marks
    become named parameters `$p1..$pN` numbered in the order they appear in the Athena text, so DuckDB
    binds them exactly as Athena's ExecutionParameters do even where the translation reorders arguments.
    """
    numbered, placeholder_count = _numbered_placeholders(sql_text)
    statements = sqlglot.parse(numbered, read=SOURCE_DIALECT, error_level=ErrorLevel.RAISE)
    if len(statements) != 1 or statements[0] is None:
        raise ValueError(f"expected exactly one statement, found {len(statements)}")
    check_parameters_in_where(statements[0])
    typed = typed_tree(statements[0], schema)
    check_unnest_aliases(typed)
    check_comparisons_without_coercion(typed)
    tree = typed.transform(_date_arithmetic_stays_date).transform(_unnest_rows_to_columns)
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


def _date_arithmetic_stays_date(node: exp.Expr) -> exp.Expr:
    """Trino's `date_add(unit, n, date)` is a DATE; sqlglot's DuckDB form `date + INTERVAL` is a TIMESTAMP."""
    if isinstance(node, exp.DateAdd) and node.type is not None and node.type.is_type(exp.DataType.Type.DATE):
        return exp.Cast(this=node.copy(), to=exp.DataType.build("date"))
    return node


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
    """Athena over DuckDB: tables typed as in the catalog, queries from sql/, results as Athena CSV."""

    def __init__(self, connection: duckdb.DuckDBPyConnection | None = None) -> None:
        self.connection = connection if connection is not None else duckdb.connect()
        # Trino sorts NULLs last in both directions (ORDER BY, "NULLS LAST is the default"); say so
        # rather than rely on DuckDB's default.
        self.connection.execute("set default_null_order = 'nulls_last'")
        self.schema: dict[str, dict[str, str]] = {}

    def register_table(
        self,
        name: str,
        partitions: Mapping[str, PartitionFolders],
        columns: Sequence[Mapping[str, str]],
    ) -> None:
        """Create (or replace) table `name` from {snapshot_date: folder(s) of Parquet files}.

        `columns` are the catalog's data columns ({"name", "type"} with Hive types, as the Glue job and
        the crawler register them): the table has exactly those columns with those types, as an Athena
        table has its catalog's, plus the string partition column snapshot_date. A column missing from
        a file reads as NULL (Athena maps Parquet columns by name); a file whose column has another type
        than the catalog's is refused, as Athena answers HIVE_BAD_DATA for it. A partition may hold
        several folders (a crawler registers every run folder it finds).
        """
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"table name must be a lowercase SQL identifier, got {name!r}")
        if not partitions:
            raise ValueError(f"table {name!r} has no partitions to register (empty partitions mapping)")
        catalog_types = {column["name"]: _duckdb_type(column["type"]) for column in columns}
        if not catalog_types or PARTITION_COLUMN in catalog_types:
            raise ValueError(f"table {name!r} needs its data columns, without {PARTITION_COLUMN}")
        selects: list[str] = []
        for snapshot_date, folders in sorted(partitions.items()):
            if not _SNAPSHOT_DATE.fullmatch(snapshot_date):
                raise ValueError(f"partition value of {name!r} is not a YYYY-MM-DD date: {snapshot_date!r}")
            for folder in [folders] if isinstance(folders, (str, Path)) else folders:
                selects.append(self._partition_select(name, snapshot_date, Path(folder), catalog_types))
        union = "\nunion all\n".join(selects)
        # A view, like an Athena table over S3: queries read the Parquet files where they lie, and a
        # filter on snapshot_date reads only that partition's files (DuckDB views take no parameters,
        # hence the quoted literals).
        self.connection.execute(f"create or replace view {name} as\n{union}")
        self.schema[name] = {column["name"]: column["type"] for column in columns}
        self.schema[name][PARTITION_COLUMN] = "string"

    def _partition_select(
        self, table: str, snapshot_date: str, folder: Path, catalog_types: Mapping[str, str]
    ) -> str:
        files = ", ".join(_sql_string(str(file)) for file in _parquet_files(folder, table, snapshot_date))
        # hive_partitioning=false: the partition value comes from the mapping, never from a second reading
        # of the folder name.
        source = f"read_parquet([{files}], hive_partitioning = false, union_by_name = true)"
        file_types = dict(
            (row[0], row[1]) for row in self.connection.execute(f"describe select * from {source}").fetchall()
        )
        projections = []
        for column, catalog_type in catalog_types.items():
            if column not in file_types:
                projections.append(f"cast(null as {catalog_type}) as {column}")
                continue
            if file_types[column] != catalog_type:
                raise AthenaQueryRejected(
                    f"HIVE_BAD_DATA: column {column!r} of {table!r} is {file_types[column]} in the Parquet "
                    f"files of {folder} but {catalog_type} in the catalog"
                )
            projections.append(column)
        projections.append(f"cast({_sql_string(snapshot_date)} as varchar) as {PARTITION_COLUMN}")
        return f"select {', '.join(projections)} from {source}"

    def execute(self, sql_text: str, parameters: Sequence[str] = ()) -> duckdb.DuckDBPyConnection:
        """Run one Athena query text with its `?` values in order; the connection holds the result.

        Parameters are strings, as in StartQueryExecution's ExecutionParameters ("A list of values for
        the parameters in a query", type array of strings, each substituted as the literal it spells);
        the state machine passes quoted literals such as '2026-12-01' and '6'.
        """
        duckdb_sql, expected = transpile_athena_sql(sql_text, self.schema)
        if len(parameters) != expected:
            raise ValueError(f"query has {expected} `?` parameter(s), got {len(parameters)} value(s)")
        not_strings = [value for value in parameters if not isinstance(value, str)]
        if not_strings:
            raise TypeError(f"ExecutionParameters are strings; got {not_strings!r}")
        named = {f"p{number}": value for number, value in enumerate(parameters, start=1)}
        return self.connection.execute(duckdb_sql, named)

    def run_query(self, sql_file: str, parameters: Sequence[str], output_path: str | Path) -> QueryResult:
        """Run a query file of sql/ and write its result where Athena would: a CSV at `output_path`."""
        cursor = self.execute(load_sql(sql_file), parameters)
        columns = tuple(column[0] for column in cursor.description)
        return write_athena_csv(columns, _fetch_batches(cursor), Path(output_path))


def _duckdb_type(hive_type: str) -> str:
    """A catalog (Hive) type in DuckDB's own spelling, as DuckDB's describe reports column types."""
    spelled = exp.DataType.build(hive_type, dialect="hive").sql(dialect=TARGET_DIALECT)
    return duckdb.sql(f"select typeof(cast(null as {spelled}))").fetchone()[0]


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
