"""Fixtures of the Glue job tests: one local SparkSession for the session, raw/curated/quarantine folders."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from glue_jobs.curation.options import CurationOptions

DATA = Path(__file__).resolve().parents[1] / "data" / "glue_jobs"


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = (
        SparkSession.builder.master("local[2]")
        .appName("glue-job-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@dataclass
class Zones:
    """The three zones of a run as local folders, plus a way to make raw files arrive."""

    root: Path
    clock: float = 1_700_000_000.0

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def curated(self) -> Path:
        return self.root / "curated"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def arrive(
        self, name: str, text: str, *, gz: bool = False, bom: bool = False, crlf: bool = False
    ) -> Path:
        """Write a raw file whose arrival (mtime) is strictly later than every earlier one."""
        if crlf:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
        path = self.raw / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data) if gz else data)
        self.clock += 60
        os.utime(path, (self.clock, self.clock))
        return path

    def arrive_sample(self, name: str, **kwargs: bool) -> Path:
        return self.arrive(
            f"{Path(name).stem}{'.ndjson.gz' if kwargs.get('gz') else '.ndjson'}",
            (DATA / name).read_text(encoding="utf-8"),
            **kwargs,
        )

    def options(self, as_of: str, run_id: str, **overrides: object) -> CurationOptions:
        values = {
            "raw_location": f"{self.raw}/",
            "curated_location": f"{self.curated}/",
            "quarantine_location": f"{self.quarantine}/",
            "as_of": as_of,
            "run_id": run_id,
            "max_rejected_ratio": 0.5,
            **overrides,
        }
        return CurationOptions(**values).resolved()  # type: ignore[arg-type]


@pytest.fixture
def zones(tmp_path: Path) -> Zones:
    (tmp_path / "raw").mkdir()
    return Zones(tmp_path)


@pytest.fixture
def lines_frame(spark: SparkSession) -> Callable[..., object]:
    """A DataFrame shaped like read_raw_lines' input to parse_lines: one raw line per row."""

    def build(*values: str, source_file: str = "s3://raw/a.ndjson", file_order: int = 0):
        rows = [(source_file, file_order, index + 1, value) for index, value in enumerate(values)]
        return spark.createDataFrame(
            rows, "source_file string, file_order int, source_line long, value string"
        )

    return build
