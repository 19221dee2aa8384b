"""Local adapters of the run report: the out folder's production files, and the same core as the Lambda."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TextIO

from accreditation_report.core import build_report
from accreditation_report.model import (
    AS_OF_FOLDER_PREFIX,
    REPORT_DATA_FILE,
    ReportInputNotFoundError,
    ReportPolicy,
    ReportRequest,
    parse_date,
)

from pipeline.local.notifier_adapters import open_local_text, resolve_location
from pipeline.settings import AlertPolicy


class LocalReportReader:
    """Locations may be paths, file:// URIs or s3://<zone>/<key> (read as <out>/<zone>/<key>)."""

    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir

    def open_text(self, location: str) -> AbstractContextManager[TextIO]:
        return open_local_text(location, self._out_dir, ReportInputNotFoundError, "file")

    def read_text(self, location: str) -> str | None:
        try:
            return resolve_location(location, self._out_dir).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            return None

    def list_previous_report_data(self, production_root: str, as_of: dt.date, limit: int) -> list[str]:
        root = resolve_location(production_root, self._out_dir)
        earlier = sorted(
            (day, folder)
            for folder in (root.glob(f"{AS_OF_FOLDER_PREFIX}*") if root.is_dir() else ())
            if (day := parse_date(folder.name[len(AS_OF_FOLDER_PREFIX) :])) is not None and day < as_of
        )
        texts = []
        for _, folder in earlier[-limit:] if limit > 0 else []:
            data = folder / REPORT_DATA_FILE
            if data.is_file():
                texts.append(data.read_text(encoding="utf-8"))
        return texts


class LocalReportWriter:
    """Writes next to the target and renames, so a reader never sees a partial report."""

    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir

    def write_text(self, location: str, text: str, content_type: str) -> None:
        path = resolve_location(location, self._out_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_path = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        try:
            with open(handle, "w", encoding="utf-8", newline="") as sink:
                sink.write(text)
            os.replace(temp_path, path)
        except BaseException:
            os.unlink(temp_path)
            raise


def report_policy(policy: AlertPolicy) -> ReportPolicy:
    return ReportPolicy(
        critical_max_days=policy.critical_max_days,
        high_max_days=policy.high_max_days,
        medium_max_days=policy.medium_max_days,
        expiring_window_months=policy.expiring_window_months,
    )


def report_locally(event: Mapping[str, object], out_dir: Path, policy: AlertPolicy) -> dict[str, object]:
    """The run report on the local twin: the same event and core as the Lambda, with file adapters."""
    out_dir = Path(out_dir)
    return build_report(
        ReportRequest.from_event(event),
        LocalReportReader(out_dir),
        LocalReportWriter(out_dir),
        report_policy(policy),
    )
