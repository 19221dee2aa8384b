"""The stage queries of sql/: the Athena (Trino) text that the local runner and the state machine share."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.stages import Stage

# The repository root holds sql/ beside the pipeline package.
SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def sql_path(name: str) -> Path:
    """Path of a query file of sql/, given its bare file name (e.g. "stage1_facility_metrics.sql")."""
    if not name or Path(name).name != name or not name.endswith(".sql"):
        raise ValueError(f"expected the bare file name of a .sql file in {SQL_DIR}, got {name!r}")
    path = SQL_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"no query file {name!r} in {SQL_DIR}")
    return path


def load_sql(name: str) -> str:
    """The exact text of a query file of sql/ (what Athena runs, and what the local runner transpiles)."""
    return sql_path(name).read_text(encoding="utf-8")


def stage_parameters(stage: Stage, values: Mapping[str, object]) -> tuple[object, ...]:
    """The values of a query stage's `?` marks, in order, picked by name from `values`."""
    missing = [name for name in stage.parameters if name not in values]
    if missing:
        raise KeyError(f"stage {stage.name!r} needs parameter(s) {missing}; given {sorted(values)}")
    return tuple(values[name] for name in stage.parameters)
